#!/usr/bin/env bash
# The shell logic of the GitHub Action (action.yml), one subcommand per step:
#
#   github-action.sh prepare   fork detection, the cache folder and keys, the SARIF file,
#                              what to upload and print (step outputs in $GITHUB_OUTPUT)
#   github-action.sh review    run `mistral-lsp review` once (SARIF file + annotations), record
#                              its exit code; always exits 0 so the upload and cache steps run
#   github-action.sh result    turn the recorded exit code into the job's result, with one
#                              clear ::error:: line
#
# Everything comes in through environment variables (the action passes its inputs with
# `env:`, never pasted into the script): INPUT_* for the inputs, the GITHUB_*/RUNNER_*
# variables the runner sets, and the outputs of the `prepare` step. docs/ci.md describes
# the behaviour; tests/cli/test_github_action.py runs this script with a fake runner
# environment.
set -euo pipefail

die() { echo "::error title=mistral-lsp::$(escape "$1")"; exit 2; }

# A workflow command's message: %, CR and LF escaped as the runner expects.
escape() {
  local text="${1//%/%25}"
  text="${text//$'\r'/%0D}"
  printf '%s' "${text//$'\n'/%0A}"
}

flag() {  # flag NAME VALUE: an input that must be true or false; the answer in REPLY
  case "$2" in
    [Tt][Rr][Uu][Ee]) REPLY=true ;;
    [Ff][Aa][Ll][Ss][Ee]) REPLY=false ;;
    *) die "input $1 must be true or false, not '$2'" ;;
  esac
}

output() { printf '%s=%s\n' "$1" "$2" >> "$GITHUB_OUTPUT"; }

output_lines() {  # a multi-line step output
  local name="$1" delimiter="mistral_lsp_${RANDOM}_${RANDOM}"
  shift
  { echo "$name<<$delimiter"; printf '%s\n' "$@"; echo "$delimiter"; } >> "$GITHUB_OUTPUT"
}

# REPLY=true when the event is a pull request whose head is in another repository (a fork).
is_fork() {
  REPLY=false
  case "${GITHUB_EVENT_NAME:-}" in
    pull_request|pull_request_review|pull_request_review_comment) ;;
    *) return 0 ;;
  esac
  [ -n "${GITHUB_EVENT_PATH:-}" ] && [ -f "$GITHUB_EVENT_PATH" ] || return 0
  local python
  python="$(command -v python3 || command -v python || true)"
  [ -n "$python" ] || die "python is not installed (actions/setup-python runs first in this action)"
  REPLY="$("$python" - "$GITHUB_EVENT_PATH" "${GITHUB_REPOSITORY:-}" <<'PY'
import json, sys
with open(sys.argv[1], encoding="utf-8") as handle:
    event = json.load(handle)
pr = event.get("pull_request") or {}
head = (pr.get("head") or {}).get("repo")  # None when the fork was deleted
base = (pr.get("base") or {}).get("repo") or {}
mine = base.get("full_name") or sys.argv[2]
print("true" if head is None or head.get("full_name") != mine else "false")
PY
)" || die "cannot read the event payload $GITHUB_EVENT_PATH"
}

key_part() {  # a cache key part: no commas, nothing odd
  local text="${1//[^A-Za-z0-9._\/-]/-}"
  printf '%s' "${text:0:100}"
}

file_part() {  # a file name part
  local text="${1//[^A-Za-z0-9._-]/-}"
  printf '%s' "${text:0:100}"
}

prepare() {
  : "${GITHUB_OUTPUT:?not set: run this from the action}" "${RUNNER_TEMP:?not set}"
  local upload annotations fork category branch prefix
  flag upload-sarif "${INPUT_UPLOAD_SARIF:-true}"
  upload="$REPLY"
  flag annotations "${INPUT_ANNOTATIONS:-true}"
  annotations="$REPLY"
  category="${INPUT_SARIF_CATEGORY:-mistral-lsp}"
  [ -n "${category//[[:space:]]/}" ] || die "input sarif-category must not be empty"
  is_fork
  fork="$REPLY"
  if [ "$fork" = true ]; then
    upload=false
    annotations=true
    echo "::notice title=mistral-lsp: pull request from a fork::$(escape "This pull request comes from a fork. \
GitHub gives such runs a read-only token and no secrets or configuration variables, so the SARIF upload to code \
scanning is skipped and the findings are shown as annotations only. If the model server needs an API key, or the \
endpoint comes from vars, the review cannot run here (see docs/ci.md, Forks).")"
  fi
  local diff_ref="" fetch_base=""
  case "${INPUT_DIFF-auto}" in
    auto) if [ -n "${GITHUB_BASE_REF:-}" ]; then diff_ref="origin/$GITHUB_BASE_REF"; fetch_base="$GITHUB_BASE_REF"; fi ;;
    "") ;;
    *) diff_ref="$INPUT_DIFF" ;;
  esac
  # Cache: a key per run (GitHub never overwrites a key); the restore keys look for this branch's
  # newest entry, then the base branch's (a pull request may read its base branch's caches), then any.
  branch="$(key_part "${GITHUB_HEAD_REF:-${GITHUB_REF_NAME:-unknown}}")"
  prefix="mistral-lsp-review-v1-$(key_part "${RUNNER_OS:-os}")-"
  local restore=("$prefix$branch-")
  [ -z "${GITHUB_BASE_REF:-}" ] || restore+=("$prefix$(key_part "$GITHUB_BASE_REF")-")
  restore+=("$prefix")
  output cache-dir "$RUNNER_TEMP/mistral-lsp-cache"
  output cache-key "$prefix$branch-${GITHUB_SHA:-0}-${GITHUB_RUN_ID:-0}-${GITHUB_RUN_ATTEMPT:-1}"
  output_lines restore-keys "${restore[@]}"
  output sarif-file "$RUNNER_TEMP/mistral-lsp-$(file_part "$category").sarif"
  output upload-sarif "$upload"
  output annotations "$annotations"
  output fork "$fork"
  output diff-ref "$diff_ref"
  output fetch-base "$fetch_base"
}

fetch_base() {  # the base branch of a pull request, as origin/BASE, in a shallow or a full clone
  local base="$1" depth=()
  [ "$(git rev-parse --is-shallow-repository)" != true ] || depth=(--depth=100)
  git fetch --no-tags "${depth[@]}" origin "+refs/heads/$base:refs/remotes/origin/$base" \
    || die "cannot fetch the base branch $base (actions/checkout with fetch-depth: 0 avoids this)"
}

review() {
  : "${GITHUB_OUTPUT:?not set: run this from the action}" "${SARIF_FILE:?not set: run prepare first}"
  if [ -z "${MISTRAL_LSP_ENDPOINT:-}" ]; then
    local why="input endpoint is empty"
    [ "${FORK:-false}" != true ] || why="$why: this pull request comes from a fork, and GitHub passes no \
secrets and no configuration variables (vars) to it"
    echo "::error title=mistral-lsp::$(escape "$why")"
    output exit-code 2
    output sarif-written false
    return 0
  fi
  [ -n "${MISTRAL_LSP_MODEL:-}" ] || unset MISTRAL_LSP_MODEL
  [ -n "${MISTRAL_LSP_API_KEY:-}" ] || unset MISTRAL_LSP_API_KEY
  if [ -n "${FETCH_BASE:-}" ]; then fetch_base "$FETCH_BASE"; fi
  local args=(--format "sarif:$SARIF_FILE" --fail-on "${INPUT_FAIL_ON:-error}")
  [ "${ANNOTATIONS:-true}" != true ] || args+=(--format github)
  [ -z "${DIFF_REF:-}" ] || args+=(--diff "$DIFF_REF")
  flag allow-partial "${INPUT_ALLOW_PARTIAL:-false}"
  [ "$REPLY" != true ] || args+=(--allow-partial)
  [ -z "${INPUT_CONCURRENCY:-}" ] || args+=(--concurrency "$INPUT_CONCURRENCY")
  local paths=() line
  while IFS= read -r line || [ -n "$line" ]; do  # one path per line; spaces are part of the path
    line="${line#"${line%%[![:space:]]*}"}"
    line="${line%"${line##*[![:space:]]}"}"
    [ -z "$line" ] || paths+=("$line")
  done <<< "${INPUT_PATHS:-.}"
  [ "${#paths[@]}" -gt 0 ] || paths=(.)
  rm -f -- "$SARIF_FILE"
  local code=0
  mistral-lsp review "${args[@]}" -- "${paths[@]}" || code=$?
  output exit-code "$code"
  if [ -s "$SARIF_FILE" ]; then output sarif-written true; else output sarif-written false; fi
}

result() {
  local code="${EXIT_CODE:-}" fail_on="${INPUT_FAIL_ON:-error}" why
  case "$code" in
    0) echo "mistral-lsp: no finding at or above $fail_on"; exit 0 ;;
    1) echo "::error title=mistral-lsp::$(escape "findings at or above $fail_on (see the annotations and code scanning)")"
       exit 1 ;;
    2) echo "::error title=mistral-lsp::usage or configuration error (the Review step says which)"; exit 2 ;;
    3) why="the review is incomplete: the model server at ${MISTRAL_LSP_ENDPOINT:-the endpoint} is unreachable \
or failed, or some part could not be reviewed (the Review step says which). The model server must be reachable \
from this runner"
       [ "${FORK:-false}" != true ] || why="$why. This pull request comes from a fork: GitHub passes it no secrets \
and no configuration variables (vars), so no API key reaches the model server"
       echo "::error title=mistral-lsp::$(escape "$why")"
       exit 3 ;;
    "") echo "::error title=mistral-lsp::the Review step did not finish"; exit 1 ;;
    *) echo "::error title=mistral-lsp::$(escape "mistral-lsp review exited $code")"; exit "$code" ;;
  esac
}

case "${1:-}" in
  prepare) prepare ;;
  review) review ;;
  result) result ;;
  *) echo "usage: $0 prepare|review|result" >&2; exit 2 ;;
esac
