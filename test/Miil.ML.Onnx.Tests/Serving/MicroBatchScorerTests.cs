using Microsoft.Extensions.DependencyInjection;
using Microsoft.ML;
using Miil.ML.Datasets;
using Miil.ML.IO;
using Miil.ML.Onnx.Scoring;
using Miil.ML.Onnx.Serving;
using Miil.ML.Testing;

namespace Miil.ML.Onnx.Tests.Serving;

/// <summary>
/// Concurrent single-image scoring: micro-batched rows equal scoring each image alone, bit for bit; a bad
/// image fails its own request only; cancellation, a full queue and closing; reload on file change;
/// dependency injection.
/// </summary>
[TestClass]
public sealed class MicroBatchScorerTests
{
    private const int Classes = 5;

    private static (ScratchDirectory Scratch, string Onnx, string[] Images) Setup(int count = 24, int seed = 0)
    {
        var scratch = new ScratchDirectory();
        string manifest = SyntheticShapes.Write(new SyntheticShapesOptions { Count = count, ImageSize = 40, ClassCount = Classes, Seed = 6 }, scratch.Path);
        string[] images = File.ReadAllLines(manifest).Skip(1).Select(l => Path.Combine(scratch.Path, l.Split(',')[0])).ToArray();
        string onnx = scratch.File("model.onnx");
        File.WriteAllBytes(onnx, ContractModels.Tiny(Classes, 32, SyntheticShapes.ClassNames(Classes), [0.3f, 0.4f, 0.5f, 0.6f, 0.7f], seed: seed));
        return (scratch, onnx, images);
    }

    private static async Task WaitUntil(Func<bool> condition)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (!condition())
        {
            Assert.IsLessThan(TimeSpan.FromMinutes(2), clock.Elapsed, "the requests never reached the queue");
            await Task.Delay(5);
        }
    }

    private static int[] Bits(float[] values) => values.Select(BitConverter.SingleToInt32Bits).ToArray();

    [TestMethod]
    public async Task ConcurrentRequestsAreBatchedAndEachRowIsWhatScoringItAloneGives()
    {
        (ScratchDirectory scratch, string onnx, string[] images) = Setup();
        using (scratch)
        {
            var ml = new MLContext(seed: 0);
            using var alone = new OnnxImageScorer(ml, File.ReadAllBytes(onnx));
            int[][] expected = images.Select(p => Bits(alone.Score([p]).Scores)).ToArray();
            await using var scorer = MicroBatchScorer.Open(ml, new MultiLabelScoringOptions { ModelPath = onnx, MaxBatchSize = 8, MaxDelay = TimeSpan.FromMilliseconds(20) });

            for (int round = 0; round < 3; round++)
            {
                // The first round is held until every request waits in the queue: then they must share calls.
                var gate = new TaskCompletionSource();
                scorer.Gate = round == 0 ? gate.Task : null;
                Task<MultiLabelPrediction>[] requests = images.Select(p => Task.Run(() => scorer.ScoreFileAsync(p))).ToArray();
                if (round == 0)
                {
                    await WaitUntil(() => scorer.Queued == images.Length);
                    scorer.Gate = null;
                    gate.SetResult();
                }
                MultiLabelPrediction[] results = await Task.WhenAll(requests);
                for (int i = 0; i < images.Length; i++)
                {
                    CollectionAssert.AreEqual(expected[i], Bits(results[i].Scores), $"image {i}, round {round}");
                    CollectionAssert.AreEqual(results[i].Scores.Select((s, k) => s >= scorer.Model.Thresholds[k]).ToArray(), results[i].PredictedLabels);
                }
            }
            int shared = Math.Min(8, images.Length);
            Assert.IsTrue(scorer.Statistics.BatchSizes.TryGetValue(shared, out long full) && full >= images.Length / shared,
                $"the held round's requests shared calls of {shared}: " + string.Join(", ", scorer.Statistics.BatchSizes));
            Assert.AreEqual(3L * images.Length, scorer.Statistics.Requests);
            Assert.AreEqual(0L, scorer.Statistics.Failures);
            MultiLabelPrediction one = await scorer.ScoreFileAsync(images[0]);
            Assert.IsTrue(one.Labels.Select(l => l.Score).SequenceEqual(one.Labels.Select(l => l.Score).OrderDescending()), "labels highest first");
        }
    }

    [TestMethod]
    public async Task ABadImageFailsItsOwnRequestOnly()
    {
        (ScratchDirectory scratch, string onnx, string[] images) = Setup(count: 8);
        using (scratch)
        {
            var ml = new MLContext(seed: 0);
            await using var scorer = MicroBatchScorer.Open(ml, new MultiLabelScoringOptions { ModelPath = onnx, MaxBatchSize = 16, MaxDelay = TimeSpan.FromMilliseconds(30) });
            byte[] png = File.ReadAllBytes(images[0]);
            byte[][] bad = [[], png[..(png.Length / 2)], "not an image"u8.ToArray(), Bomb()];
            Task<MultiLabelPrediction>[] good = images.Select(p => scorer.ScoreFileAsync(p)).ToArray();
            Task<MultiLabelPrediction>[] broken = bad.Select((b, i) => scorer.ScoreAsync(b, $"upload {i}")).ToArray();
            foreach ((Task<MultiLabelPrediction> task, int i) in broken.Select((t, i) => (t, i)))
            {
                var e = await Assert.ThrowsExactlyAsync<InvalidOperationException>(() => task);
                StringAssert.Contains(e.Message, $"upload {i}");
            }
            MultiLabelPrediction[] results = await Task.WhenAll(good);
            Assert.HasCount(images.Length, results);
            Assert.AreEqual((long)bad.Length, scorer.Statistics.Failures);
        }
    }

    /// <summary>A valid PNG header declaring 60000 x 60000 pixels: refused before anything is allocated.</summary>
    private static byte[] Bomb()
    {
        using var bitmap = new SkiaSharp.SKBitmap(2, 2);
        using SkiaSharp.SKData data = SkiaSharp.SKImage.FromBitmap(bitmap).Encode(SkiaSharp.SKEncodedImageFormat.Png, 100);
        return PngBytes.DeclaringSize(data.ToArray(), 60000, 60000);
    }

    [TestMethod]
    public async Task CancellationAFullQueueAndClosingAreClear()
    {
        (ScratchDirectory scratch, string onnx, string[] images) = Setup(count: 4);
        using (scratch)
        {
            var ml = new MLContext(seed: 0);
            byte[] image = File.ReadAllBytes(images[0]);
            var scorer = MicroBatchScorer.Open(ml, new MultiLabelScoringOptions { ModelPath = onnx, MaxBatchSize = 64, MaxDelay = TimeSpan.FromSeconds(2) });
            var gate = new TaskCompletionSource();
            scorer.Gate = gate.Task;  // both requests wait in the queue until the cancellation is through
            using var cancel = new CancellationTokenSource();
            Task<MultiLabelPrediction> waiting = scorer.ScoreAsync(image, cancellationToken: cancel.Token);
            Task<MultiLabelPrediction> other = scorer.ScoreAsync(image);
            cancel.Cancel();
            await Assert.ThrowsAsync<OperationCanceledException>(() => waiting);
            scorer.Gate = null;
            gate.SetResult();
            // Closing finishes what waits (without waiting out the delay), then refuses.
            await scorer.DisposeAsync();
            Assert.HasCount(Classes, (await other).Scores);
            await Assert.ThrowsExactlyAsync<ObjectDisposedException>(() => scorer.ScoreAsync(image));

            // A queue of one while the loop is held: the first request waits in it, every later one is refused at once.
            await using var small = MicroBatchScorer.Open(ml, new MultiLabelScoringOptions { ModelPath = onnx, MaxBatchSize = 2, MaxQueueLength = 1, MaxDelay = TimeSpan.FromMilliseconds(50) });
            var held = new TaskCompletionSource();
            small.Gate = held.Task;
            Task<MultiLabelPrediction> first = small.ScoreAsync(image);
            for (int i = 0; i < 5; i++)
            {
                await Assert.ThrowsExactlyAsync<ScoringQueueFullException>(() => small.ScoreAsync(image));
            }
            small.Gate = null;
            held.SetResult();
            Assert.HasCount(Classes, (await first).Scores);
            Assert.HasCount(Classes, (await small.ScoreAsync(image)).Scores, "room again once the queue is read");
        }
    }

    [TestMethod]
    public async Task WithoutBatchingEveryRequestRunsItsOwnCallWithTheSameResults()
    {
        (ScratchDirectory scratch, string onnx, string[] images) = Setup(count: 8);
        using (scratch)
        {
            var ml = new MLContext(seed: 0);
            await using var batched = MicroBatchScorer.Open(ml, new MultiLabelScoringOptions { ModelPath = onnx, MaxBatchSize = 8, MaxDelay = TimeSpan.FromMilliseconds(10) });
            await using var single = MicroBatchScorer.Open(ml, new MultiLabelScoringOptions { ModelPath = onnx, MaxBatchSize = 1 });
            MultiLabelPrediction[] a = await Task.WhenAll(images.Select(p => batched.ScoreFileAsync(p)));
            MultiLabelPrediction[] b = await Task.WhenAll(images.Select(p => Task.Run(() => single.ScoreFileAsync(p))));
            for (int i = 0; i < images.Length; i++)
            {
                CollectionAssert.AreEqual(Bits(a[i].Scores), Bits(b[i].Scores));
            }
            CollectionAssert.AreEqual(new[] { 1 }, single.Statistics.BatchSizes.Keys.ToArray(), "one image per call");
        }
    }

    [TestMethod]
    public async Task TheServiceReloadsAChangedModelWithoutDroppingRequestsAndKeepsServingWhenTheNewFileIsBad()
    {
        (ScratchDirectory scratch, string onnx, string[] images) = Setup(count: 4);
        using (scratch)
        {
            var ml = new MLContext(seed: 0);
            await using var service = new MultiLabelScoringService(new MultiLabelScoringOptions { ModelPath = onnx, ReloadOnChange = true, MaxDelay = TimeSpan.FromMilliseconds(1) }, ml);
            byte[] image = File.ReadAllBytes(images[0]);
            float[] before = (await service.ScoreAsync(image)).Scores;

            using var stop = new CancellationTokenSource();
            int failed = 0, served = 0;
            Task traffic = Task.Run(async () =>
            {
                while (!stop.IsCancellationRequested)
                {
                    try
                    {
                        await service.ScoreAsync(image);
                        Interlocked.Increment(ref served);
                    }
                    catch (Exception)
                    {
                        Interlocked.Increment(ref failed);
                    }
                }
            });
            var reloaded = new TaskCompletionSource<Exception?>(TaskCreationOptions.RunContinuationsAsynchronously);
            service.Reloaded += (_, e) => reloaded.TrySetResult(e);
            byte[] other = ContractModels.Tiny(Classes, 32, SyntheticShapes.ClassNames(Classes), seed: 99);
            AtomicFile.Write(onnx, s => s.Write(other));  // replaced by a rename, as a deployment would
            Assert.IsNull(await reloaded.Task.WaitAsync(TimeSpan.FromSeconds(20)), "the new model loaded");
            float[] after = (await service.ScoreAsync(image)).Scores;
            CollectionAssert.AreNotEqual(Bits(before), Bits(after), "the new model scores");
            Assert.AreEqual(1L, service.Reloads);

            reloaded = new TaskCompletionSource<Exception?>(TaskCreationOptions.RunContinuationsAsynchronously);
            AtomicFile.Write(onnx, s => s.Write("not a model"u8));
            Assert.IsNotNull(await reloaded.Task.WaitAsync(TimeSpan.FromSeconds(20)), "the bad file was refused");
            CollectionAssert.AreEqual(Bits(after), Bits((await service.ScoreAsync(image)).Scores), "the previous model keeps serving");
            stop.Cancel();
            await traffic;
            Assert.AreEqual(0, failed, $"no request failed across the reloads ({served} served)");
            Assert.IsGreaterThan(0, served);
        }
    }

    [TestMethod]
    public async Task DependencyInjectionGivesOneSharedServiceDisposedWithTheContainer()
    {
        (ScratchDirectory scratch, string onnx, string[] images) = Setup(count: 2);
        using (scratch)
        {
            var services = new ServiceCollection();
            services.AddSingleton(new MLContext(seed: 0));
            services.AddMultiLabelScoring(new MultiLabelScoringOptions { ModelPath = onnx });
            MultiLabelScoringService first;
            await using (ServiceProvider provider = services.BuildServiceProvider())
            {
                first = provider.GetRequiredService<MultiLabelScoringService>();
                Assert.AreSame(first, provider.GetRequiredService<MultiLabelScoringService>());
                CollectionAssert.AreEqual(SyntheticShapes.ClassNames(Classes).ToArray(), first.Model.ClassNames.ToArray());
                Assert.HasCount(Classes, (await first.ScoreAsync(File.ReadAllBytes(images[0]))).Scores);
            }
            await Assert.ThrowsExactlyAsync<ObjectDisposedException>(() => first.ScoreAsync(File.ReadAllBytes(images[0])));
            Assert.ThrowsExactly<ArgumentException>(() => services.AddMultiLabelScoring(new MultiLabelScoringOptions { ModelPath = "" }));
        }
    }
}
