#!/usr/bin/env bash
# Installs mule: the executable, its man page (made by `mule manual` from the command definitions)
# and shell completions for bash, zsh and fish.
#
#   Scripts/install.sh [--prefix DIR] [--from BUILD_DIR]
#
# --prefix   where to install (default /usr/local as root, else ~/.local)
# --from     use the mule already built there (e.g. .build/release) instead of building it
#            (swift build -c release --static-swift-stdlib, as README "Performance" says)
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" -eq 0 ]; then prefix=/usr/local; else prefix="$HOME/.local"; fi
from=""
while [ $# -gt 0 ]; do
    case "$1" in
    --prefix) prefix=$2; shift 2 ;;
    --from) from=$2; shift 2 ;;
    *) echo "install: unknown option $1 (see the top of $0)" >&2; exit 2 ;;
    esac
done
if [ -z "$from" ]; then
    swift build -c release --static-swift-stdlib --product mule
    from=.build/release
fi
[ -x "$from/mule" ] || { echo "install: no mule executable in $from" >&2; exit 1; }
install -d "$prefix/bin" "$prefix/share/man/man1" "$prefix/share/bash-completion/completions" \
    "$prefix/share/zsh/site-functions" "$prefix/share/fish/vendor_completions.d"
install -m 0755 "$from/mule" "$prefix/bin/mule"
"$from/mule" manual >"$prefix/share/man/man1/mule.1"
"$from/mule" completions bash >"$prefix/share/bash-completion/completions/mule"
"$from/mule" completions zsh >"$prefix/share/zsh/site-functions/_mule"
"$from/mule" completions fish >"$prefix/share/fish/vendor_completions.d/mule.fish"
echo "install: mule $("$prefix/bin/mule" --version) in $prefix (man mule; completions for bash, zsh and fish)"
