-- The `mistral-lsp` command line as the editor runs it: found through the LSP config's `cmd`, so
-- `:checkhealth` and `:MistralLsp check` run exactly the program that `serve`s.

local M = {}

M.NAME = 'mistral_lsp'

-- Editor settings that `mistral-lsp check` only sees through the environment. Keys are compared the
-- way the server compares them: case-insensitively, with '-' and '_' ignored.
local SETTING_ENV = {
  endpoint = 'MISTRAL_LSP_ENDPOINT',
  model = 'MISTRAL_LSP_MODEL',
  apikey = 'MISTRAL_LSP_API_KEY',
  cachedir = 'MISTRAL_LSP_CACHE_DIR',
}

---@return vim.lsp.Config
function M.config()
  local ok, config = pcall(function()
    return vim.lsp.config[M.NAME]
  end)
  return ok and config or {}
end

--- The command that starts the server, or nil when `cmd` is a function (an RPC transport).
---@return string[]?
function M.serve_cmd()
  local cmd = M.config().cmd
  if cmd == nil then
    return { 'mistral-lsp', 'serve' }
  end
  if type(cmd) ~= 'table' or #cmd == 0 then
    return nil
  end
  return cmd
end

--- The configured command with `serve` and what follows replaced by `args`:
--- { 'mistral-lsp', 'serve' } -> { 'mistral-lsp', unpack(args) };
--- { 'python', '-m', 'lsp_server', 'serve' } -> { 'python', '-m', 'lsp_server', unpack(args) }.
---@param args string[]
---@return string[]
function M.command(args)
  local cmd = M.serve_cmd() or { 'mistral-lsp', 'serve' }
  local prefix = {}
  for _, part in ipairs(cmd) do
    if part == 'serve' then
      break
    end
    prefix[#prefix + 1] = part
  end
  if #prefix == #cmd then -- no `serve` in it: a wrapper script; use it as the program
    prefix = { cmd[1] }
  end
  return vim.list_extend(prefix, args)
end

--- The program to run, resolved on PATH, or nil and why not.
---@return string? path
---@return string? problem
function M.executable()
  local cmd = M.serve_cmd()
  if not cmd then
    return nil, '`cmd` is a function (an RPC connection), so there is no program to check'
  end
  local program = cmd[1]
  if vim.fn.executable(program) == 1 then
    return vim.fn.exepath(program), nil
  end
  return nil, ('`%s` is not executable or not on PATH'):format(program)
end

local function normalize(key)
  return (key:lower():gsub('[-_]', ''))
end

--- The environment for a `mistral-lsp check` that sees what the running server sees: the config's
--- `cmd_env`, then the connection settings given in the editor (which win over the environment,
--- as they do for the server).
---@return table<string, string>
function M.env()
  local config = M.config()
  local env = vim.deepcopy(config.cmd_env or {})
  local section = vim.tbl_get(config, 'settings', 'mistralLsp') or {}
  if type(section) == 'table' then
    for key, value in pairs(section) do
      local var = type(key) == 'string' and SETTING_ENV[normalize(key)]
      if var and (type(value) == 'string' or type(value) == 'number') then
        env[var] = tostring(value)
      end
    end
  end
  return env
end

--- The project folder for settings files: the running client's root, else the config's root
--- markers from the current buffer, else the current directory.
---@param bufnr? integer
---@return string
function M.root(bufnr)
  bufnr = bufnr or vim.api.nvim_get_current_buf()
  for _, client in ipairs(vim.lsp.get_clients({ bufnr = bufnr })) do
    if require('mistral_lsp').is_ours(client) and client.root_dir then
      return client.root_dir
    end
  end
  local markers = M.config().root_markers
  if markers and vim.api.nvim_buf_get_name(bufnr) ~= '' then
    local found = vim.fs.root(bufnr, markers)
    if found then
      return found
    end
  end
  return vim.fn.getcwd()
end

---@param args string[]
---@param opts? { timeout_ms?: integer, root?: string }
---@return vim.SystemCompleted? result
---@return string? problem
function M.run_sync(args, opts)
  opts = opts or {}
  local ok, proc = pcall(vim.system, M.command(args), { text = true, env = M.env(), cwd = opts.root })
  if not ok then
    return nil, tostring(proc)
  end
  local result = proc:wait(opts.timeout_ms or 15000)
  if result.code == 124 and result.signal == 9 then -- vim.system's timeout
    return nil, ('`%s` did not finish in time'):format(table.concat(M.command(args), ' '))
  end
  return result, nil
end

--- `mistral-lsp --version`, e.g. "mistral-lsp 0.1.0".
---@return string? version
---@return string? problem
function M.version()
  local result, problem = M.run_sync({ '--version' }, { timeout_ms = 10000 })
  if not result then
    return nil, problem
  end
  local out = vim.trim((result.stdout or '') .. (result.stderr or ''))
  if result.code ~= 0 then
    return nil, ('`%s` exited with %d: %s'):format(table.concat(M.command({ '--version' }), ' '), result.code, out)
  end
  return out, nil
end

--- The arguments of `mistral-lsp check` for a project folder.
---@param root string
---@param json boolean
---@return string[]
function M.check_args(root, json)
  local args = { 'check', '--root', root, '--timeout', '5' }
  if json then
    args[#args + 1] = '--json'
  end
  return args
end

--- `mistral-lsp check --json`, decoded.
---@param root string
---@return table? report
---@return string? problem
function M.check_json(root)
  local result, problem = M.run_sync(M.check_args(root, true), { timeout_ms = 20000, root = root })
  if not result then
    return nil, problem
  end
  local ok, report = pcall(vim.json.decode, result.stdout or '', { luanil = { object = true, array = true } })
  if not ok or type(report) ~= 'table' then
    local out = vim.trim((result.stdout or '') .. '\n' .. (result.stderr or ''))
    return nil, ('`mistral-lsp check --json` exited with %d and printed no report: %s'):format(result.code, out)
  end
  return report, nil
end

return M
