namespace Miil.ML.TorchSharp.Models;

/// <summary>
/// Which head a network puts on its spatial features: global average pooling and a linear classifier
/// (the TResNet and ASL papers'), or ML-Decoder (Ridnik et al., "ML-Decoder: Scalable and Versatile
/// Classification Head", 2021): a transformer decoder layer without self-attention whose fixed queries
/// attend to every position of the features, then a group fully-connected layer. The head does not
/// depend on the backbone: any family that gives spatial features carries either.
/// </summary>
public sealed record ClassifierHead
{
    /// <summary>ML-Decoder's query count when none is given: 100 (the reference's <c>num_of_groups=-1</c>).</summary>
    public const int DefaultGroups = 100;

    /// <summary>ML-Decoder's embedding width when none is given: 768 (the reference's, and the model zoo's).</summary>
    public const int DefaultEmbedding = 768;

    /// <summary>Attention heads of ML-Decoder's decoder layer (a constant of the reference).</summary>
    internal const int AttentionHeads = 8;

    private ClassifierHead(bool isMLDecoder, int groups, int embedding)
    {
        IsMLDecoder = isMLDecoder;
        Groups = groups;
        Embedding = embedding;
    }

    /// <summary>Global average pooling and a linear layer: the default.</summary>
    public static ClassifierHead Pooling { get; } = new(false, 0, 0);

    /// <summary>
    /// ML-Decoder: <paramref name="groups"/> fixed queries (at most one per class: with fewer classes, one
    /// query each), each decoding <c>ceil(classes / queries)</c> classes through its own weights; the
    /// recipe's dropout of 0.1 in training.
    /// </summary>
    /// <param name="groups">Queries (the paper's groups); 100 by default, one per class up to 100 classes.</param>
    /// <param name="embedding">Width of the decoder; a multiple of the 8 attention heads. 768 by default.</param>
    /// <exception cref="ArgumentOutOfRangeException">Fewer than one group, or an embedding that is not a positive multiple of 8.</exception>
    public static ClassifierHead MLDecoder(int groups = DefaultGroups, int embedding = DefaultEmbedding)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(groups, 1);
        if (embedding < AttentionHeads || embedding % AttentionHeads != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(embedding), embedding, $"ML-Decoder's embedding must be a positive multiple of its {AttentionHeads} attention heads.");
        }
        return new ClassifierHead(true, groups, embedding);
    }

    /// <summary>Whether this is ML-Decoder (otherwise the pooling head).</summary>
    public bool IsMLDecoder { get; }

    /// <summary>ML-Decoder's queries before the class count caps them; 0 for the pooling head.</summary>
    public int Groups { get; }

    /// <summary>ML-Decoder's embedding width; 0 for the pooling head.</summary>
    public int Embedding { get; }

    /// <summary>The queries a head of <paramref name="classCount"/> classes has: one per class up to <see cref="Groups"/>.</summary>
    internal int QueryCount(int classCount) => Math.Min(Groups, classCount);

    /// <inheritdoc />
    public override string ToString() => IsMLDecoder ? $"ML-Decoder ({Groups} groups, embedding {Embedding})" : "pooling";
}
