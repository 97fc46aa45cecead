namespace Miil.ML.Cli;

/// <summary>The exit codes of <c>miil</c>: scripts tell a bad command line from bad data from a failed run.</summary>
internal static class ExitCodes
{
    /// <summary>Done.</summary>
    public const int Success = 0;

    /// <summary>The run failed (training diverged, the parity check failed, an unexpected error).</summary>
    public const int Failed = 1;

    /// <summary>The command line is wrong: an unknown option, a value out of range, options that exclude each other.</summary>
    public const int Usage = 2;

    /// <summary>The input is wrong: a missing file, a column that is not there, an unknown model name, an unreadable image.</summary>
    public const int Input = 3;

    /// <summary>Something outside: a download failed, the network is offline, the disk is full.</summary>
    public const int Environment = 4;

    /// <summary>Stopped by Ctrl+C (128 + SIGINT, as shells report it).</summary>
    public const int Canceled = 130;
}
