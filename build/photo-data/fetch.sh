#!/usr/bin/env bash
# The real photographs of the ResNet transfer benchmark (docs/benchmarks.md, "Transfer on real
# photographs"): an optional step of that benchmark, never of the tests or README's commands.
#
#   bash build/photo-data/fetch.sh [OUT]      (default OUT: ~/.cache/miil/photo-data)
#
# Downloads five Debian packages with `apt-get download` (about 330 MB; or takes the .debs from
# $DEB_DIR when set), keeps the 203 photographic cut-outs of stamps.tsv (16 classes, from
# tuxpaint-stamps-default) and the 27 photographs of backgrounds.txt (landscapes, water, textures with
# none of the classes in them), about 60 MB, and deletes the rest. OUT gets stamps/<class>/*.png,
# backgrounds/*.jpg and a copy of both lists; an existing OUT is replaced only once the new one is whole.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=${1:-$HOME/.cache/miil/photo-data}
packages=(tuxpaint-stamps-default lomiri-wallpapers-16.04 lomiri-wallpapers-20.04 mate-backgrounds plasma-workspace-wallpapers)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for p in "${packages[@]}"; do
  if [[ -n "${DEB_DIR:-}" ]] && compgen -G "$DEB_DIR/${p}_*.deb" > /dev/null; then
    cp "$DEB_DIR"/"${p}"_*.deb "$work/"
  else
    (cd "$work" && apt-get download "$p")
  fi
done
for deb in "$work"/*.deb; do dpkg-deb -x "$deb" "$work/root"; done
stage="$out.partial"
rm -rf "$stage"
mkdir -p "$stage/stamps" "$stage/backgrounds"
count=0
while IFS=$'\t' read -r cls path group; do
  [[ "$cls" == \#* || -z "$cls" ]] && continue
  mkdir -p "$stage/stamps/$cls"
  cp "$work/root/usr/share/tuxpaint/stamps/$path" "$stage/stamps/$cls/${path//\//_}"
  count=$((count + 1))
done < "$here/stamps.tsv"
backgrounds=0
while read -r path; do
  [[ "$path" == \#* || -z "$path" ]] && continue
  # KDE's wallpapers are all named by their size: name them by their folder.
  if [[ "$path" =~ wallpapers/([^/]+)/contents/ ]]; then name="${BASH_REMATCH[1]}.jpg"; else name=$(basename "$path"); fi
  cp "$work/root/$path" "$stage/backgrounds/$name"
  backgrounds=$((backgrounds + 1))
done < "$here/backgrounds.txt"
cp "$here/stamps.tsv" "$here/backgrounds.txt" "$stage/"
rm -rf "$out"
mv "$stage" "$out"
echo "photo-data: $count cut-outs and $backgrounds backgrounds in $out ($(du -sh "$out" | cut -f1))"
