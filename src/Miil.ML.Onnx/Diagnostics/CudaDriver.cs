using System.Runtime.InteropServices;
using System.Text;

namespace Miil.ML.Onnx.Diagnostics;

/// <summary>
/// The few CUDA driver API calls the doctor needs (version, devices), bound at run time so that a
/// machine without the driver gets an answer rather than a load error.
/// </summary>
internal sealed class CudaDriver
{
    private const int ComputeCapabilityMajor = 75, ComputeCapabilityMinor = 76;

    [UnmanagedFunctionPointer(CallingConvention.Cdecl)] private delegate int CuInit(uint flags);
    [UnmanagedFunctionPointer(CallingConvention.Cdecl)] private delegate int CuIntOut(out int value);
    [UnmanagedFunctionPointer(CallingConvention.Cdecl)] private delegate int CuDeviceGet(out int device, int ordinal);
    [UnmanagedFunctionPointer(CallingConvention.Cdecl)] private delegate int CuDeviceGetName(byte[] name, int length, int device);
    [UnmanagedFunctionPointer(CallingConvention.Cdecl)] private delegate int CuDeviceTotalMem(out nuint bytes, int device);
    [UnmanagedFunctionPointer(CallingConvention.Cdecl)] private delegate int CuDeviceGetAttribute(out int value, int attribute, int device);

    private readonly IntPtr _library;

    private CudaDriver(IntPtr library) => _library = library;

    /// <summary>The driver's library name on this OS.</summary>
    public static string LibraryName => OperatingSystem.IsWindows() ? "nvcuda.dll" : "libcuda.so.1";

    /// <summary>The loaded driver, or null with the loader's reason.</summary>
    public static CudaDriver? TryOpen(out string? error)
    {
        error = null;
        try
        {
            return new CudaDriver(NativeLibrary.Load(LibraryName));
        }
        catch (DllNotFoundException e)
        {
            error = e.Message;
            return null;
        }
    }

    /// <summary>The highest CUDA version the driver supports (12080 = 12.8), or null with the CUDA error code.</summary>
    public int? CudaVersion(out int status)
    {
        status = Bind<CuIntOut>("cuDriverGetVersion")(out int version);
        return status == 0 ? version : null;
    }

    /// <summary>Initialises the driver API: 0 on success, otherwise CUDA's error code (100: no device).</summary>
    public int Initialise() => Bind<CuInit>("cuInit")(0);

    /// <summary>The devices the driver sees: name, memory and compute capability.</summary>
    public IReadOnlyList<CudaDevice> Devices()
    {
        if (Bind<CuIntOut>("cuDeviceGetCount")(out int count) != 0)
        {
            return Array.Empty<CudaDevice>();
        }
        var devices = new List<CudaDevice>();
        var getName = Bind<CuDeviceGetName>("cuDeviceGetName");
        var totalMem = Bind<CuDeviceTotalMem>("cuDeviceTotalMem_v2");
        var attribute = Bind<CuDeviceGetAttribute>("cuDeviceGetAttribute");
        for (int i = 0; i < count; i++)
        {
            if (Bind<CuDeviceGet>("cuDeviceGet")(out int device, i) != 0)
            {
                continue;
            }
            var name = new byte[256];
            getName(name, name.Length, device);
            totalMem(out nuint bytes, device);
            attribute(out int major, ComputeCapabilityMajor, device);
            attribute(out int minor, ComputeCapabilityMinor, device);
            int end = Array.IndexOf(name, (byte)0);
            devices.Add(new CudaDevice(i, Encoding.UTF8.GetString(name, 0, end < 0 ? name.Length : end), (long)bytes, $"{major}.{minor}"));
        }
        return devices;
    }

    /// <summary>The kernel module's version (Linux, e.g. "580.65.06"), or null.</summary>
    public static string? KernelModuleVersion()
    {
        const string file = "/proc/driver/nvidia/version";
        if (!File.Exists(file))
        {
            return null;
        }
        string first = File.ReadLines(file).FirstOrDefault() ?? "";
        return first.Split(' ', StringSplitOptions.RemoveEmptyEntries)
            .FirstOrDefault(w => w.Count(c => c == '.') >= 1 && w.All(c => char.IsDigit(c) || c == '.') && char.IsDigit(w[0]));
    }

    private T Bind<T>(string name) where T : Delegate =>
        NativeLibrary.TryGetExport(_library, name, out IntPtr f)
            ? Marshal.GetDelegateForFunctionPointer<T>(f)
            : throw new EntryPointNotFoundException($"The CUDA driver ({LibraryName}) has no {name}: it is older than CUDA 4.");
}

/// <summary>A CUDA device as the driver reports it.</summary>
internal sealed record CudaDevice(int Ordinal, string Name, long MemoryBytes, string ComputeCapability);
