#!/usr/bin/env bash
# The real-vLLM tier's vision part: a short-lived second vLLM serving a tiny random vision model.
#
#   scripts/vllm/vision.sh [extra pytest args]
#
# Needs scripts/vllm/setup.sh to have built the tier's environment (scripts/vllm-tier.sh runs this
# after the text tests, once the text model's vLLM has stopped). Steps:
# 1. builds (once, cached beside the text model, keyed by the builder scripts and the lock)
#    scripts/vllm/make_tiny_vision_model.py: the tiny decoder plus a tiny Pixtral vision encoder,
#    with Mistral-Small-3.2's image settings (patch 14, largest side 1540, spatial merge 2);
# 2. serves it (scripts/vllm/serve.sh --layout vision) with --limit-mm-per-prompt '{"image":2}';
# 3. runs scripts/test.sh -m vllm_vision with MISTRAL_LSP_VLLM_VISION_URL / _LOG set;
# 4. stops it (its process group), whatever happened.
# Exit status: pytest's. If the vision server cannot be built or started, it says so loudly and
# exits 1 (MISTRAL_LSP_SKIP_VLLM_TIER=1: reported SKIPPED, exit 0), like the tier itself.
set -uo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
# shellcheck source=paths.sh
source "$HERE/paths.sh"
# shellcheck source=health.sh
source "$HERE/health.sh"
WORK="${MISTRAL_LSP_VLLM_TIER_DIR:-$REPO/.cache/vllm-tier}"
START_TIMEOUT="${MISTRAL_LSP_VLLM_TIER_START_TIMEOUT:-300}"
SKIP="${MISTRAL_LSP_SKIP_VLLM_TIER:-0}"
IMAGE_LIMIT=2
SERVER_PID=""
LOG="$WORK/vllm-vision.log"

say() { echo "vllm-vision: $*"; }

cannot_run() {
  echo "################################################################################"
  echo "##  THE VISION PART OF THE REAL-vLLM TIER COULD NOT RUN: $1"
  echo "################################################################################"
  if [ "$SKIP" = 1 ]; then echo "vLLM vision tier: SKIPPED ($1)"; exit 0; fi
  exit 1
}

stop_server() {
  [ -n "$SERVER_PID" ] || return 0
  kill -TERM -- "-$SERVER_PID" 2>/dev/null
  for _ in $(seq 1 60); do
    pgrep -g "$SERVER_PID" >/dev/null || break
    sleep 0.5
  done
  pgrep -g "$SERVER_PID" >/dev/null && kill -KILL -- "-$SERVER_PID" 2>/dev/null
  wait "$SERVER_PID" 2>/dev/null
  SERVER_PID=""
}
trap stop_server EXIT
trap 'stop_server; exit 130' INT TERM

mkdir -p "$WORK"
rm -f "$LOG"
[ -f "$VLLM_TIER_VENV/.complete" ] || cannot_run "the tier's environment is not built (run scripts/vllm/setup.sh)"

# -- 1. the model ------------------------------------------------------------------------------------
started=$SECONDS
(
  exec 9>"$VLLM_TIER_CACHE/.vision.lock"
  flock 9
  if [ ! -f "$VLLM_TIER_VISION_MODEL/.complete" ]; then
    rm -rf "$VLLM_TIER_VISION_MODEL"
    mkdir -p "$VLLM_TIER_VISION_MODEL"
    say "building the tiny vision model into $VLLM_TIER_VISION_MODEL"
    "$VLLM_TIER_VENV/bin/python" "$HERE/make_tiny_vision_model.py" --out "$VLLM_TIER_VISION_MODEL/model" \
      >"$VLLM_TIER_CACHE/logs/vision-model.log" 2>&1 || { tail -n 20 "$VLLM_TIER_CACHE/logs/vision-model.log"; exit 1; }
    touch "$VLLM_TIER_VISION_MODEL/.complete"
  fi
  for old in "$VLLM_TIER_CACHE"/vision-*; do
    [ -e "$old" ] && [ "$old" != "$VLLM_TIER_VISION_MODEL" ] && rm -rf "$old"
  done
  exit 0
) || cannot_run "make_tiny_vision_model.py failed (see above)"
BUILD_S=$((SECONDS - started))

# -- 2. vLLM -----------------------------------------------------------------------------------------
PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
started=$SECONDS
setsid "$HERE/serve.sh" --layout vision --port "$PORT" --log "$LOG" -- \
  --limit-mm-per-prompt "{\"image\":$IMAGE_LIMIT}" &
SERVER_PID=$!
say "vLLM (vision) starting (pid $SERVER_PID, port $PORT, log $LOG)"
ready=0
vllm_wait_healthy "$PORT" "$SERVER_PID" "$((START_TIMEOUT - (SECONDS - started)))" && ready=1
START_S=$((SECONDS - started))
if [ "$ready" != 1 ]; then
  echo "---- last lines of $LOG ----"; tail -n 40 "$LOG" 2>/dev/null; echo "----"
  stop_server
  cannot_run "vLLM did not start on the vision model (see its log above)"
fi
say "vLLM (vision) ready in ${START_S} s"

# -- 3. the tests ------------------------------------------------------------------------------------
started=$SECONDS
MISTRAL_LSP_VLLM_VISION_URL="http://127.0.0.1:$PORT/v1" MISTRAL_LSP_VLLM_VISION_LOG="$LOG" \
  MISTRAL_LSP_VLLM_VISION_IMAGE_LIMIT="$IMAGE_LIMIT" \
  "$REPO/scripts/test.sh" -m vllm_vision -p no:cacheprovider "$@"
rc=$?
TESTS_S=$((SECONDS - started))
[ "$rc" != 0 ] && { echo "---- last lines of $LOG ----"; tail -n 30 "$LOG"; echo "----"; }
stop_server
say "model ${BUILD_S} s, vLLM start ${START_S} s, tests ${TESTS_S} s"
case "$rc" in
  0) say "vLLM vision tier: PASSED" ;;
  5) say "vLLM vision tier: FAILED: pytest ran no test (exit 5)"; rc=1 ;;
  *) say "vLLM vision tier: FAILED (pytest exit $rc)" ;;
esac
exit "$rc"
