# ci/wine-env.sh: the environment every Wine call of the project uses
# (sourced). A project-local prefix, no debug noise, no Mono/Gecko prompts,
# and no crash debugger (a crash fails at once instead of hanging).
export WINEPREFIX=${WINEPREFIX:-${BUILD_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/build}/wineprefix}
export WINEDEBUG=${WINEDEBUG:--all}
export WINEDLLOVERRIDES="mscoree,mshtml=;winedbg.exe=d"
export WINEARCH=win64
