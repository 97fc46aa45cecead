#!/usr/bin/env bash
# Builds the air-gapped GPU check: a self-contained linux-x64 Release build of GpuCheck (no .NET needed
# on the target) with TResNet-M ONNX models made here, packed into pieces of at most 60 MiB, plus the
# script that reassembles and runs it on the GPU host and a README.
#
#   build/gpu-check/run.sh [--out DIR] [--dry-run] [--architecture M] [--image-size 224] [--piece-mib 60]
#
# --dry-run then reassembles the pieces in a temporary folder and runs the check there on the CPU
# provider only (it must report CUDA as absent and finish the CPU half). Needs the .NET SDK, tar and xz.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
out="$here/out"; dry_run=0; architecture=M; image_size=224; piece_mib=60
while [ $# -gt 0 ]; do
  case "$1" in
    --out) out="$(mkdir -p "$2" && cd "$2" && pwd)"; shift 2 ;;
    --dry-run) dry_run=1; shift ;;
    --architecture) architecture="$2"; shift 2 ;;
    --image-size) image_size="$2"; shift 2 ;;
    --piece-mib) piece_mib="$2"; shift 2 ;;
    -h|--help) sed -n '2,10p' "$0"; exit 0 ;;
    *) echo "run.sh: unknown option '$1' (--help lists them)" >&2; exit 2 ;;
  esac
done
for tool in dotnet tar xz split sha256sum; do
  command -v "$tool" >/dev/null || { echo "run.sh: '$tool' is needed on the build host" >&2; exit 2; }
done

stage="$(mktemp -d)"
trap 'rm -rf "$stage"' EXIT
app="$stage/gpu-check"
mkdir -p "$app"

echo "== models (TResNet-$architecture at $image_size px, float32 and float16)"
dotnet run -c Release --project "$here/MakeModels/MakeModels.csproj" -- "$app/models" \
  --architecture "$architecture" --image-size "$image_size"

echo "== self-contained publish (linux-x64)"
dotnet publish "$here/GpuCheck/GpuCheck.csproj" -c Release -r linux-x64 --self-contained true \
  -p:InvariantGlobalization=true -p:DebugType=none -o "$app" -v quiet -nologo
cp "$here/README.md" "$app/README.md"

echo "== pack (xz, pieces of at most $piece_mib MiB)"
mkdir -p "$out"
rm -f "$out"/gpu-check.tar.xz.part-* "$out/SHA256SUMS"
tar -C "$stage" -cf - gpu-check | xz -T0 -6 | split -b "${piece_mib}M" -d -a 2 - "$out/gpu-check.tar.xz.part-"
(cd "$out" && sha256sum gpu-check.tar.xz.part-* > SHA256SUMS)

# The target's script: only bash, coreutils, tar and xz; the pieces may arrive in any order of time.
cat > "$out/run-gpu-check.sh" <<'TARGET'
#!/usr/bin/env bash
# Reassembles the GPU check from its pieces beside this script, verifies them, unpacks into
# ./gpu-check and runs it. Arguments go to the check (--help lists them). It exits 1 when parity
# fails and 3 when CUDA is not usable (GPUCHECK_ALLOW_CPU=1: run the CPU half and exit 0 instead).
# GPUCHECK_DIR picks another unpack folder.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
dir="${GPUCHECK_DIR:-$here/gpu-check}"
command -v xz >/dev/null || { echo "run-gpu-check.sh: xz is needed (Debian/Ubuntu: xz-utils; RHEL: xz)" >&2; exit 2; }
(cd "$here" && sha256sum -c --quiet SHA256SUMS) || { echo "run-gpu-check.sh: a piece is missing or damaged (see above)" >&2; exit 2; }
if [ ! -x "$dir/GpuCheck" ]; then
  mkdir -p "$dir"
  cat "$here"/gpu-check.tar.xz.part-* | xz -d | tar -x -C "$dir" --strip-components=1
fi
require=(--require-cuda)
[ "${GPUCHECK_ALLOW_CPU:-0}" = 1 ] && require=()
exec "$dir/GpuCheck" --models "$dir/models" "${require[@]}" "$@"
TARGET
chmod +x "$out/run-gpu-check.sh"
cp "$here/README.md" "$out/README.md"
echo "== written to $out:"
ls -l "$out"

if [ "$dry_run" = 1 ]; then
  echo "== dry run: reassemble in a temporary folder, CPU provider only"
  target="$(mktemp -d)"
  cp "$out"/gpu-check.tar.xz.part-* "$out/SHA256SUMS" "$out/run-gpu-check.sh" "$target/"
  status=0
  GPUCHECK_ALLOW_CPU=1 "$target/run-gpu-check.sh" --batches 1,16 --seconds 1 || status=$?
  rm -rf "$target"
  echo "== dry run exit code: $status"
  exit "$status"
fi
