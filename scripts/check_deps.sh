#!/usr/bin/env bash
# Enforces STYLE.md's dependency table: which folder may include which, and that no folder includes
# another folder's internal/ headers. CMake cannot stop an include, so this grep does.
set -euo pipefail
cd "$(dirname "$0")/.."

declare -A ALLOWED=(
  [base]="base"
  [proto]=""
  [crypto]="base crypto"
  [storage]="base storage"
  [ledger]="base crypto storage ledger"
  [consensus]="base crypto consensus"
  [node]="base crypto storage ledger consensus node"
)
status=0
for folder in "${!ALLOWED[@]}"; do
  [[ -d $folder ]] || continue
  while IFS=: read -r file _ include; do
    target=$(sed -E 's/.*#include "([a-z_]+)\/.*/\1/' <<<"$include")
    case $target in
      base|crypto|storage|ledger|consensus|node) ;;
      *) continue ;;
    esac
    if [[ " ${ALLOWED[$folder]} " != *" $target "* ]]; then
      echo "check_deps: $file includes $target/ but $folder/ may not depend on $target/" >&2
      status=1
    fi
    if [[ $include == *"/internal/"* && $target != "$folder" ]]; then
      echo "check_deps: $file includes another folder's internal header: $include" >&2
      status=1
    fi
  done < <(grep -rHn --include='*.h' --include='*.cc' '^#include "' "$folder" || true)
done
# Outside the library folders only tests may reach into internal/ of the folder they test.
exit $status
