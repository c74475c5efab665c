#!/usr/bin/env bash
# Builds the platform host of an earlier release, for the upgrade test and for an operator who must go back to it:
# the release's source is taken from this repository's own history (git archive of the release's commit, nothing
# downloaded but the NuGet packages its build restores) into $HOHHOT_RELEASES_DIR/<release>/ and built there once.
#
# Usage: deploy/release-build.sh <release>     prints the path of the release's hohhot-platform.dll as its last line
#
# Releases (the commit whose migration scripts src/HohhotCluster.Telemetry.Storage/SchemaReleases/<release>.sha256 lists):
#   0.14  934750d23a2e2a16ebf8e82b59963fba770e9788  (the last release before schema checksums were recorded)
#
# Environment: HOHHOT_RELEASES_DIR (default <repo>/.data/releases), HOHHOT_RELEASE_CONFIGURATION (default Debug).
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
release=${1:-}
case $release in
    0.14) commit=934750d23a2e2a16ebf8e82b59963fba770e9788 ;;
    *) echo "usage: $0 0.14" >&2; exit 2 ;;
esac
configuration=${HOHHOT_RELEASE_CONFIGURATION:-Debug}
root="$(realpath -m -- "${HOHHOT_RELEASES_DIR:-$repo/.data/releases}")/$release"
dll="$root/src/HohhotCluster.Telemetry.Host/bin/$configuration/net10.0/hohhot-platform.dll"
log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

git -C "$repo" cat-file -e "$commit^{commit}" 2>/dev/null \
    || { echo "$0: commit $commit of release $release is not in this repository's history" >&2; exit 1; }

# One build at a time per release folder; a finished build is marked with the commit it was built from.
mkdir -p "$(dirname "$root")"
exec 8>"$root.lock"
flock -w 1800 8 || { echo "$0: another build of release $release holds $root.lock" >&2; exit 1; }
if [[ -f $root/.built && "$(cat "$root/.built")" == "$commit $configuration" && -f $dll ]]; then
    log "release $release ($commit) already built in $root"
    echo "$dll"; exit 0
fi

rm -rf -- "$root"
mkdir -p "$root"
log "release $release: extracting $commit into $root"
git -C "$repo" archive --format=tar "$commit" | tar -x -C "$root"
# The folder lies inside this checkout, and MSBuild takes the nearest Directory.Build.props/.targets above a project:
# where the release has none of its own, an empty one stops the search, so this checkout's build files (packages the
# release does not declare) never reach the release's build.
for build_file in Directory.Build.props Directory.Build.targets; do
    [[ -e $root/$build_file ]] || printf '<Project />\n' > "$root/$build_file"
done
log "release $release: building the host ($configuration)"
(cd "$root" && DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 nice -n 10 dotnet build src/HohhotCluster.Telemetry.Host -c "$configuration" -nologo -v q) >&2
[[ -f $dll ]] || { echo "$0: the build of release $release wrote no $dll" >&2; exit 1; }
echo "$commit $configuration" > "$root/.built"
echo "$dll"
