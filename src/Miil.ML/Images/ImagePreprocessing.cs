namespace Miil.ML.Images;

/// <summary>How images are resized to a network's input.</summary>
internal enum ImageResizeMode
{
    /// <summary>Squash (stretch) to the square side, no crop, as the TResNet and ASL references do (ImageAnalytics' <c>ResizingKind.Fill</c>).</summary>
    Squash,
}

/// <summary>The order of the three colour planes of the input tensor.</summary>
internal enum ColorChannelOrder
{
    /// <summary>Red, green, blue (the references' and timm's order).</summary>
    Rgb,

    /// <summary>Blue, green, red (OpenCV-trained models).</summary>
    Bgr,
}

/// <summary>
/// How an image becomes a network's input tensor, as data (timm's <c>_cfg</c> idea): square side,
/// resize, channel order, then <c>(pixel x Scale - Mean[c]) / Std[c]</c> per channel, planar
/// N x 3 x S x S. The trainer reads images this way, the exporter writes it into the ONNX model
/// (<c>OnnxModelContract</c>), and the scorer reads it back, so a model scores with the
/// preprocessing it was trained with.
/// </summary>
internal sealed record ImagePreprocessing
{
    /// <summary>Side of the square input in pixels.</summary>
    public required int ImageSize { get; init; }

    /// <summary>How the image is resized. Default <see cref="ImageResizeMode.Squash"/>.</summary>
    public ImageResizeMode ResizeMode { get; init; } = ImageResizeMode.Squash;

    /// <summary>Order of the colour planes. Default <see cref="ColorChannelOrder.Rgb"/>.</summary>
    public ColorChannelOrder ChannelOrder { get; init; } = ColorChannelOrder.Rgb;

    /// <summary>Factor from 8-bit pixel values to the network's range. Default 1/255.</summary>
    public float Scale { get; init; } = 1f / 255f;

    /// <summary>Per-channel mean subtracted after scaling, in the order of <see cref="ChannelOrder"/>. Default 0, 0, 0 (TResNet's: no normalisation).</summary>
    public IReadOnlyList<float> Mean { get; init; } = [0f, 0f, 0f];

    /// <summary>Per-channel standard deviation divided by after the mean. Default 1, 1, 1.</summary>
    public IReadOnlyList<float> Std { get; init; } = [1f, 1f, 1f];

    /// <summary>TResNet's preprocessing at <paramref name="imageSize"/>: squash, RGB, 1/255, no mean/std.</summary>
    public static ImagePreprocessing Unnormalized(int imageSize) => new() { ImageSize = imageSize };

    /// <summary>The ImageNet mean and standard deviation most torchvision and timm models use.</summary>
    public static ImagePreprocessing ImageNet(int imageSize) => new()
    {
        ImageSize = imageSize,
        Mean = [0.485f, 0.456f, 0.406f],
        Std = [0.229f, 0.224f, 0.225f],
    };

    /// <summary>Whether a mean or standard deviation other than 0 and 1 applies.</summary>
    public bool Normalizes => Mean.Any(m => m != 0) || Std.Any(s => s != 1);

    /// <summary>Floats per image: 3 x size x size.</summary>
    public int Length => 3 * ImageSize * ImageSize;

    /// <summary>Checks the record; <paramref name="source"/> names where it came from in the message.</summary>
    /// <exception cref="ArgumentException">A size below 4, a mean or standard deviation that is not three finite numbers, a standard deviation of 0, or a scale that is not positive.</exception>
    public void Validate(string source = "the preprocessing")
    {
        if (ImageSize < 4)
        {
            throw new ArgumentException($"{source}: image size {ImageSize} is below 4 pixels.");
        }
        if (!(Scale > 0) || !float.IsFinite(Scale))
        {
            throw new ArgumentException($"{source}: scale {Scale} must be positive and finite.");
        }
        if (Mean is null || Std is null || Mean.Count != 3 || Std.Count != 3 || Mean.Any(m => !float.IsFinite(m)) || Std.Any(s => !(s != 0) || !float.IsFinite(s)))
        {
            throw new ArgumentException($"{source}: mean and std must be three finite numbers each (std not 0); got [{string.Join(", ", Mean ?? [])}] and [{string.Join(", ", Std ?? [])}].");
        }
        if (!Enum.IsDefined(ResizeMode) || !Enum.IsDefined(ChannelOrder))
        {
            throw new ArgumentException($"{source}: resize mode {ResizeMode} or channel order {ChannelOrder} is not defined.");
        }
    }

    /// <summary>Value equality, the mean and standard deviation compared element by element.</summary>
    public bool Equals(ImagePreprocessing? other)
        => other is not null && ImageSize == other.ImageSize && ResizeMode == other.ResizeMode && ChannelOrder == other.ChannelOrder
           && Scale.Equals(other.Scale) && Mean.SequenceEqual(other.Mean) && Std.SequenceEqual(other.Std);

    /// <inheritdoc />
    public override int GetHashCode() => HashCode.Combine(ImageSize, ResizeMode, ChannelOrder, Scale, Mean.Count > 0 ? Mean[0] : 0, Std.Count > 0 ? Std[0] : 1);

    /// <inheritdoc />
    public override string ToString()
        => string.Create(System.Globalization.CultureInfo.InvariantCulture,
            $"{ResizeMode} to {ImageSize} x {ImageSize}, {ChannelOrder}, x {Scale:G6}, mean [{Numbers(Mean)}], std [{Numbers(Std)}]");

    private static string Numbers(IReadOnlyList<float> values)
        => string.Join(", ", values.Select(v => v.ToString("G6", System.Globalization.CultureInfo.InvariantCulture)));
}
