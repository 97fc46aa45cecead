using Microsoft.ML;
using Microsoft.ML.Data;
using Miil.ML.Datasets;
using Miil.ML.Onnx;
using Miil.ML.Onnx.Scoring;
using Miil.ML.Testing;

namespace Miil.ML.Onnx.Tests.Scoring;

/// <summary><c>ScoreImages</c> in ML.NET pipelines: batches, slot names, PredictionEngine, persistence through stock transforms.</summary>
[TestClass]
public sealed class ImageScoringTests
{
    private sealed class Row
    {
        public string ImagePath { get; set; } = "";

        public string Labels { get; set; } = "";
    }

    private sealed class Scored
    {
        public string Labels { get; set; } = "";

        [VectorType]
        public float[] Score { get; set; } = [];

        [VectorType]
        public bool[] PredictedLabels { get; set; } = [];
    }

    private static (string Onnx, Row[] Rows, ScratchDirectory Scratch) Setup()
    {
        var scratch = new ScratchDirectory();
        string manifest = SyntheticShapes.Write(new SyntheticShapesOptions { Count = 10, ImageSize = 40, ClassCount = 5, Seed = 4 }, scratch.Path);
        Row[] rows = File.ReadAllLines(manifest).Skip(1).Select(l => l.Split(',')).Select(p => new Row { ImagePath = Path.Combine(scratch.Path, p[0]), Labels = p[1] }).ToArray();
        string onnx = scratch.File("model.onnx");
        File.WriteAllBytes(onnx, ContractModels.Tiny(5, 32, SyntheticShapes.ClassNames(5), Enumerable.Repeat(0.4f, 5).ToList()));
        return (onnx, rows, scratch);
    }

    [TestMethod]
    public void BatchesPassThroughColumnsAndNameTheSlots()
    {
        (string onnx, Row[] rows, ScratchDirectory scratch) = Setup();
        using (scratch)
        {
            var ml = new MLContext(seed: 0);
            IDataView data = ml.Data.LoadFromEnumerable(rows);
            using var reference = new OnnxImageScorer(ml, File.ReadAllBytes(onnx));
            (float[] expected, bool[] decisions) = reference.Score(rows.Select(r => r.ImagePath).ToList());
            IDataView scored = null!;
            // Batch 1 and 3: a worker scores several batches in turn (8 and 9 rows, the last one short); batch 4: one batch each.
            foreach (int batchSize in new[] { 1, 3, 4 })
            {
                using ImageScoringTransformer scorer = ml.MultiLabel().ScoreImages(onnx, "ImagePath", batchSize: batchSize).Fit(data);
                scored = scorer.Transform(data);
                Scored[] results = ml.Data.CreateEnumerable<Scored>(scored, reuseRowObject: false).ToArray();
                Assert.HasCount(rows.Length, results);
                Bounds.AtMost(1e-5, Bounds.MaxAbsDifference(expected, results.SelectMany(r => r.Score)), $"batch {batchSize}");
                CollectionAssert.AreEqual(decisions, results.SelectMany(r => r.PredictedLabels).ToArray(), $"batch {batchSize}");
                CollectionAssert.AreEqual(rows.Select(r => r.Labels).ToArray(), results.Select(r => r.Labels).ToArray(), "other columns pass through in order");
            }

            // Leaving early disposes the cursor with a batch still being read ahead.
            using ImageScoringTransformer prefetching = ml.MultiLabel().ScoreImages(onnx, "ImagePath", batchSize: 8).Fit(data);
            Scored[] firstTwo = ml.Data.CreateEnumerable<Scored>(prefetching.Transform(data), reuseRowObject: false).Take(2).ToArray();
            Bounds.AtMost(1e-5, Bounds.MaxAbsDifference(expected.Take(10), firstTwo.SelectMany(r => r.Score)));

            foreach (string column in new[] { "Score", "PredictedLabels" })
            {
                VBuffer<ReadOnlyMemory<char>> names = default;
                scored.Schema[column].GetSlotNames(ref names);
                CollectionAssert.AreEqual(SyntheticShapes.ClassNames(5).ToArray(), names.DenseValues().Select(n => n.ToString()).ToArray());
            }
        }
    }

    [TestMethod]
    public void ImageColumnsScoreLikePaths()
    {
        (string onnx, Row[] rows, ScratchDirectory scratch) = Setup();
        using (scratch)
        {
            var ml = new MLContext(seed: 0);
            IDataView data = ml.Data.LoadFromEnumerable(rows);
            using ImageScoringTransformer byPath = ml.MultiLabel().ScoreImages(onnx, new ImageScoringOptions { ImageColumnName = "ImagePath" }).Fit(data);
            float[] fromPaths = ml.Data.CreateEnumerable<Scored>(byPath.Transform(data), reuseRowObject: false).SelectMany(r => r.Score).ToArray();

            IDataView images = ml.Transforms.LoadImages("Image", "", "ImagePath").Fit(data).Transform(data);
            using ImageScoringTransformer byImage = ml.MultiLabel().ScoreImages(onnx, new ImageScoringOptions { ImageColumnName = "Image", BatchSize = 3 }).Fit(images);
            float[] fromImages = ml.Data.CreateEnumerable<Scored>(byImage.Transform(images), reuseRowObject: false).SelectMany(r => r.Score).ToArray();
            Bounds.AtMost(1e-5, Bounds.MaxAbsDifference(fromPaths, fromImages));

            string zip = scratch.File("images.zip");
            ml.Model.Save(byImage, images.Schema, zip);
            ITransformer loaded = new MLContext(seed: 1).Model.Load(zip, out _);
            float[] stock = ml.Data.CreateEnumerable<Scored>(loaded.Transform(images), reuseRowObject: false).SelectMany(r => r.Score).ToArray();
            Bounds.AtMost(1e-5, Bounds.MaxAbsDifference(fromImages, stock), "image-column model after a stock load");
        }
    }

    [TestMethod]
    public void PredictionEngineScoresOneRowTheSame()
    {
        (string onnx, Row[] rows, ScratchDirectory scratch) = Setup();
        using (scratch)
        {
            var ml = new MLContext(seed: 0);
            IDataView data = ml.Data.LoadFromEnumerable(rows);
            using ImageScoringTransformer scorer = ml.MultiLabel().ScoreImages(onnx, new ImageScoringOptions { ImageColumnName = "ImagePath" }).Fit(data);
            using PredictionEngine<Row, Scored> engine = ml.Model.CreatePredictionEngine<Row, Scored>(scorer);
            Scored one = engine.Predict(rows[3]);
            float[] batched = ml.Data.CreateEnumerable<Scored>(scorer.Transform(data), reuseRowObject: false).ElementAt(3).Score;
            Bounds.AtMost(1e-5, Bounds.MaxAbsDifference(batched, one.Score));
            Assert.AreEqual(rows[3].Labels, one.Labels);
        }
    }

    [TestMethod]
    public void ATransformerOutlivesThePredictionEnginesThatDisposeIt()
    {
        // ML.NET's PredictionEngine disposes the transformer it was made from (OwnsTransformer defaults to true):
        // an engine per thread, each disposed, used to free the ONNX Runtime session under the others (a native crash).
        (string onnx, Row[] rows, ScratchDirectory scratch) = Setup();
        using (scratch)
        {
            var ml = new MLContext(seed: 0);
            IDataView data = ml.Data.LoadFromEnumerable(rows);
            using ImageScoringTransformer scorer = ml.MultiLabel().ScoreImages(onnx, new ImageScoringOptions { ImageColumnName = "ImagePath", BatchSize = 2 }).Fit(data);
            int[] expected = ml.Data.CreateEnumerable<Scored>(scorer.Transform(data), reuseRowObject: false).SelectMany(r => r.Score).Select(BitConverter.SingleToInt32Bits).ToArray();
            using (PredictionEngine<Row, Scored> engine = ml.Model.CreatePredictionEngine<Row, Scored>(scorer))
            {
                _ = engine.Predict(rows[0]);
            }

            var failures = new System.Collections.Concurrent.ConcurrentBag<string>();
            var threads = Enumerable.Range(0, 4).Select(t => new Thread(() =>
            {
                for (int pass = 0; pass < 3; pass++)
                {
                    int[] scores = t % 2 == 0
                        ? ml.Data.CreateEnumerable<Scored>(scorer.Transform(data), reuseRowObject: false).SelectMany(r => r.Score).Select(BitConverter.SingleToInt32Bits).ToArray()
                        : EngineScores(ml, scorer, rows);
                    if (!scores.SequenceEqual(expected))
                    {
                        failures.Add($"thread {t} pass {pass}");
                    }
                }
            })).ToList();
            threads.ForEach(t => t.Start());
            for (int i = 0; i < 20; i++)
            {
                scorer.Dispose();  // as an engine's disposal would, while the others score
                Thread.Sleep(5);
            }
            threads.ForEach(t => t.Join());
            CollectionAssert.AreEqual(Array.Empty<string>(), failures.ToArray(), "every pass scores as before");
        }
    }

    private static int[] EngineScores(MLContext ml, ITransformer transformer, Row[] rows)
    {
        using PredictionEngine<Row, Scored> engine = ml.Model.CreatePredictionEngine<Row, Scored>(transformer);
        return rows.SelectMany(r => engine.Predict(r).Score).Select(BitConverter.SingleToInt32Bits).ToArray();
    }

    [TestMethod]
    public void SavesAsStockTransformsThatAPlainMLContextLoads()
    {
        (string onnx, Row[] rows, ScratchDirectory scratch) = Setup();
        using (scratch)
        {
            var ml = new MLContext(seed: 0);
            IDataView data = ml.Data.LoadFromEnumerable(rows);
            using ImageScoringTransformer scorer = ml.MultiLabel().ScoreImages(onnx, new ImageScoringOptions { ImageColumnName = "ImagePath" }).Fit(data);
            float[] ours = ml.Data.CreateEnumerable<Scored>(scorer.Transform(data), reuseRowObject: false).SelectMany(r => r.Score).ToArray();

            string zip = scratch.File("model.zip");
            ml.Model.Save(scorer, data.Schema, zip);
            var plain = new MLContext(seed: 1);
            ITransformer loaded = plain.Model.Load(zip, out _);
            Scored[] stock = plain.Data.CreateEnumerable<Scored>(loaded.Transform(plain.Data.LoadFromEnumerable(rows)), reuseRowObject: false).ToArray();
            Bounds.AtMost(1e-5, Bounds.MaxAbsDifference(ours, stock.SelectMany(r => r.Score)), "after a stock load");
            CollectionAssert.AreEqual(rows.Select(r => r.Labels).ToArray(), stock.Select(r => r.Labels).ToArray());

            using ImageScoringTransformer ourLoad = plain.MultiLabel().LoadModel(zip, new ImageScoringOptions { ImageColumnName = "ImagePath", BatchSize = 3 });
            IDataView again = ourLoad.Transform(plain.Data.LoadFromEnumerable(rows));
            float[] rebuilt = plain.Data.CreateEnumerable<Scored>(again, reuseRowObject: false).SelectMany(r => r.Score).ToArray();
            Bounds.AtMost(1e-5, Bounds.MaxAbsDifference(ours, rebuilt), "after our load");
            VBuffer<ReadOnlyMemory<char>> names = default;
            again.Schema["Score"].GetSlotNames(ref names);
            CollectionAssert.AreEqual(SyntheticShapes.ClassNames(5).ToArray(), names.DenseValues().Select(n => n.ToString()).ToArray(), "slot names come back");
            CollectionAssert.AreEqual(Enumerable.Repeat(0.4f, 5).ToArray(), ourLoad.Model.Thresholds.ToArray());

            string resaved = scratch.File("again.zip");
            plain.Model.Save(ourLoad, plain.Data.LoadFromEnumerable(rows).Schema, resaved);
            var third = new MLContext(seed: 2);
            ITransformer reloaded = third.Model.Load(resaved, out _);
            float[] resavedScores = third.Data.CreateEnumerable<Scored>(reloaded.Transform(third.Data.LoadFromEnumerable(rows)), reuseRowObject: false).SelectMany(r => r.Score).ToArray();
            Bounds.AtMost(1e-5, Bounds.MaxAbsDifference(ours, resavedScores), "our load saves again as stock transforms that score the same");
        }
    }

    [TestMethod]
    public void BadInputIsNamed()
    {
        (string onnx, Row[] rows, ScratchDirectory scratch) = Setup();
        using (scratch)
        {
            var ml = new MLContext(seed: 0);
            IDataView data = ml.Data.LoadFromEnumerable(rows);
            StringAssert.Contains(Assert.ThrowsExactly<ArgumentException>(() => ml.MultiLabel().ScoreImages(onnx, new ImageScoringOptions { ImageColumnName = "Path" }).Fit(data)).Message, "'Path'");
            Assert.ThrowsExactly<FileNotFoundException>(() => ml.MultiLabel().ScoreImages(scratch.File("missing.onnx")));
            File.WriteAllBytes(scratch.File("junk.onnx"), [1, 2, 3]);
            StringAssert.Contains(Assert.ThrowsExactly<InvalidOperationException>(() => ml.MultiLabel().ScoreImages(scratch.File("junk.onnx"))).Message, "junk.onnx");
            Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => ml.MultiLabel().ScoreImages(onnx, new ImageScoringOptions { ImageColumnName = "ImagePath", BatchSize = 0 }));
        }
    }

    [TestMethod]
    public void UnreadableImagesStopScoringOrAreScoredAsMissingAndCounted()
    {
        (string onnx, Row[] rows, ScratchDirectory scratch) = Setup();
        using (scratch)
        {
            File.Delete(rows[5].ImagePath);
            File.WriteAllText(rows[7].ImagePath, "not a png");
            var ml = new MLContext(seed: 0);
            IDataView data = ml.Data.LoadFromEnumerable(rows);

            using (ImageScoringTransformer strict = ml.MultiLabel().ScoreImages(onnx, "ImagePath", batchSize: 4).Fit(data))
            {
                var e = Assert.Throws<Exception>(() => ml.Data.CreateEnumerable<Scored>(strict.Transform(data), reuseRowObject: false).ToArray());
                // Slices of a batch decode in parallel: either bad image may be the one named.
                Assert.IsTrue(e.Message.Contains(Path.GetFileName(rows[5].ImagePath), StringComparison.Ordinal)
                    || e.Message.Contains(Path.GetFileName(rows[7].ImagePath), StringComparison.Ordinal), e.Message);
            }

            var messages = new List<string>();
            ml.Log += (_, m) => { lock (messages) { messages.Add(m.Message); } };
            using ImageScoringTransformer lenient = ml.MultiLabel().ScoreImages(onnx, new ImageScoringOptions { ImageColumnName = "ImagePath", BatchSize = 4, SkipUnreadableImages = true }).Fit(data);
            Scored[] results = ml.Data.CreateEnumerable<Scored>(lenient.Transform(data), reuseRowObject: false).ToArray();
            Assert.HasCount(10, results);
            using var reference = new OnnxImageScorer(ml, File.ReadAllBytes(onnx));
            for (int i = 0; i < results.Length; i++)
            {
                if (i is 5 or 7)
                {
                    Assert.IsTrue(results[i].Score.All(float.IsNaN), $"row {i}");
                    Assert.IsTrue(results[i].PredictedLabels.All(p => !p), $"row {i}");
                }
                else
                {
                    float[] expected = reference.Score([rows[i].ImagePath]).Scores;
                    for (int k = 0; k < expected.Length; k++)
                    {
                        Assert.AreEqual(expected[k], results[i].Score[k], 1e-5f, $"row {i} class {k}");
                    }
                }
            }
            Assert.AreEqual(2L, lenient.SkippedImages);
            Assert.IsTrue(messages.Any(m => m.Contains(Path.GetFileName(rows[7].ImagePath), StringComparison.Ordinal)), "each skipped image is logged");

            // The documented way to leave them out before evaluating.
            Assert.AreEqual(8, ml.Data.FilterRowsByMissingValues(lenient.Transform(data), "Score").GetColumn<float[]>("Score").Count());

            // PredictionEngine (one row at a time) skips the same way.
            var engine = ml.Model.CreatePredictionEngine<Row, Scored>(lenient);
            Assert.IsTrue(engine.Predict(rows[5]).Score.All(float.IsNaN));
        }
    }
}
