using Miil.ML.TorchSharp.Models.TResNet;

namespace Miil.ML.Benchmarks;

/// <summary>
/// Multiply-accumulates of one TResNet forward pass, counted layer by layer from the architecture:
/// convolutions (the anti-aliasing filters included), squeeze-excite and the head. Norms,
/// activations and pooling are not counted, as in the paper's MAC figures.
/// </summary>
internal static class TResNetComplexity
{
    public static double Macs(TResNetArchitecture architecture, int classCount, int height, int width, int inChannels = 3)
    {
        long h = height / 4, w = width / 4;
        int planes = architecture.Planes;
        double macs = Conv(9, inChannels * 16, planes, h, w);
        long inPlanes = planes;
        (int Planes, int Stride, bool Bottleneck, bool Se)[] stages =
        [
            (planes, 1, false, true), (planes * 2, 2, false, true), (planes * 4, 2, true, true), (planes * 8, 2, true, false),
        ];
        for (int s = 0; s < 4; s++)
        {
            (int p, int stride, bool bottleneck, bool se) = stages[s];
            int expansion = bottleneck ? 4 : 1;
            for (int b = 0; b < architecture.Layers[s]; b++)
            {
                bool down = b == 0 && stride == 2;
                long oh = down ? (h + 1) / 2 : h, ow = down ? (w + 1) / 2 : w;
                if (b == 0 && (stride != 1 || inPlanes != p * expansion))
                {
                    macs += Conv(1, inPlanes, p * expansion, oh, ow);
                }
                if (bottleneck)
                {
                    macs += Conv(1, inPlanes, p, h, w);
                    macs += Conv(9, p, p, h, w) + (down ? 9.0 * p * oh * ow : 0);
                    macs += se ? 2.0 * p * Math.Max(p * 4 / 8, 64) : 0;
                    macs += Conv(1, p, p * 4, oh, ow);
                }
                else
                {
                    macs += Conv(9, inPlanes, p, h, w) + (down ? 9.0 * p * oh * ow : 0);
                    macs += Conv(9, p, p, oh, ow);
                    macs += se ? 2.0 * p * Math.Max(p / 4, 64) : 0;
                }
                inPlanes = p * expansion;
                h = oh;
                w = ow;
            }
        }
        return macs + (double)architecture.FeatureCount * classCount;
    }

    private static double Conv(int kernelArea, long inChannels, long outChannels, long h, long w)
        => (double)kernelArea * inChannels * outChannels * h * w;
}
