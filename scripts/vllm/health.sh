# shellcheck shell=bash
# Sourced by the vLLM tier's scripts (scripts/vllm-tier.sh, scripts/vllm/vision.sh).
#
# vllm_wait_healthy PORT PID SECONDS: wait until the vLLM server on 127.0.0.1:PORT answers
# /health. Returns 0 when it does; 1 when SECONDS have passed or process PID ended first.
vllm_wait_healthy() {
  local port=$1 pid=$2 limit=$3 began=$SECONDS
  while [ $((SECONDS - began)) -lt "$limit" ]; do
    if curl -sf -o /dev/null --max-time 2 "http://127.0.0.1:$port/health"; then return 0; fi
    kill -0 "$pid" 2>/dev/null || return 1
    sleep 1
  done
  return 1
}
