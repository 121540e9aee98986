-- :checkhealth mistral_lsp

local M = {}

local function level_name(level)
  for name, value in pairs(vim.log.levels) do
    if value == level then
      return name
    end
  end
  return tostring(level)
end

local function check_neovim(mistral)
  vim.health.start('mistral-lsp: Neovim')
  local v = vim.version()
  local version = ('%d.%d.%d'):format(v.major, v.minor, v.patch)
  if vim.fn.has('nvim-0.11') == 0 then
    vim.health.error('Neovim ' .. version .. ' is too old', { 'The mistral-lsp client needs Neovim 0.11 or newer.' })
    return false
  end
  if mistral.has_inline_completion() then
    vim.health.ok(('Neovim %s: AI completions as ghost text (vim.lsp.inline_completion)'):format(version))
  else
    vim.health.ok(
      ('Neovim %s: AI completions as completion items (<C-x><C-o>, or your completion plugin); '):format(version)
        .. 'ghost text needs Neovim 0.12'
    )
  end
  local files = vim.api.nvim_get_runtime_file('lsp/' .. mistral.NAME .. '.lua', true)
  if #files == 0 then
    vim.health.error('lsp/mistral_lsp.lua is not on runtimepath', {
      "Add mistral-lsp's editor-clients/nvim folder to runtimepath (see docs/editors.md).",
    })
  elseif vim.lsp.is_enabled(mistral.NAME) then
    vim.health.ok(('config %s, enabled'):format(files[1]))
  else
    vim.health.warn(('config %s, not enabled'):format(files[1]), {
      "Add vim.lsp.enable('mistral_lsp') (or require('mistral_lsp').setup()) to your config.",
    })
  end
  return true
end

local function check_server(cli)
  vim.health.start('mistral-lsp: server')
  local path, problem = cli.executable()
  if not path then
    vim.health.error(problem or 'the server was not found', {
      'Install it: pip install mistral-lsp (in a Python 3.11+ virtual environment).',
      "Or point `cmd` at it: require('mistral_lsp').setup({ cmd = { '/path/to/venv/bin/mistral-lsp', 'serve' } })",
    })
    return false
  end
  vim.health.ok(('found %s (cmd: %s)'):format(path, table.concat(cli.serve_cmd(), ' ')))
  local version, version_problem = cli.version()
  if version then
    vim.health.ok('version: ' .. version)
  else
    vim.health.error('`--version` failed: ' .. tostring(version_problem), {
      'The program at cmd[1] does not look like mistral-lsp; check `cmd`.',
    })
    return false
  end
  return true
end

local function check_endpoint(cli, root)
  vim.health.start('mistral-lsp: model endpoint')
  local report, problem = cli.check_json(root)
  if not report then
    vim.health.error(problem or '`mistral-lsp check` failed')
    return
  end
  for _, settings_problem in ipairs(report.settingsProblems or {}) do
    vim.health.warn('settings: ' .. settings_problem, { 'See docs/configuration.md; the next layer\'s value is used.' })
  end
  local where = ('%s, model %s (settings from %s)'):format(tostring(report.endpoint), tostring(report.model), root)
  if report.usable then
    local context = type(report.maxModelLen) == 'number' and (', context %d tokens'):format(report.maxModelLen) or ''
    local took = type(report.completionMs) == 'number'
        and (', a test completion took %d ms'):format(math.floor(report.completionMs + 0.5))
      or ''
    vim.health.ok(('usable: %s%s%s'):format(where, context, took))
    return
  end
  local state
  if not report.reachable then
    state = 'not reachable'
  elseif not report.modelServed then
    state = 'answers, but does not serve the model'
  else
    state = 'serves the model, but a test completion failed'
  end
  local advice = vim.deepcopy(report.problems or {})
  vim.list_extend(advice, {
    'Set the endpoint with MISTRAL_LSP_ENDPOINT, .mistral-lsp.toml or [tool.mistral-lsp] in pyproject.toml,'
      .. " or in Neovim: require('mistral_lsp').setup({ settings = { endpoint = 'http://gpu-box:8000/v1' } })",
    'Run :MistralLsp check after fixing it.',
  })
  vim.health.error(('NOT usable: %s: %s'):format(where, state), advice)
end

local function check_clients(mistral)
  vim.health.start('mistral-lsp: running servers')
  local clients = vim.tbl_filter(mistral.is_ours, vim.lsp.get_clients())
  if #clients == 0 then
    vim.health.info('no mistral-lsp server is running now (it starts when you open a file of its filetypes)')
    return
  end
  for _, client in ipairs(clients) do
    local status = ''
    local index = nil
    if mistral.server_has_command(client, 'mistral-lsp.status') then
      local answer = client:request_sync('workspace/executeCommand', { command = 'mistral-lsp.status' }, 3000)
      local result = answer and answer.result
      if type(result) == 'table' then
        status = (', model %s, automatic completions %s'):format(
          tostring(result.state),
          result.completionsEnabled and 'on' or 'off'
        )
        index = type(result.index) == 'table' and result.index or nil
      end
    end
    local buffers = vim.tbl_count(client.attached_buffers or {})
    vim.health.ok(
      ('running: client %d, root %s, %d buffer(s)%s'):format(client.id, client.root_dir or '(none)', buffers, status)
    )
    if index and index.enabled == false then
      vim.health.info('symbol index: off (index.enable = false): no cross-file context, no reviewer tools')
    elseif index and index.ready then
      vim.health.ok(('symbol index: %d files, %d symbols (file changes seen through %s)'):format(
        index.files or 0, index.symbols or 0, index.fileEvents == 'client' and 'Neovim' or 'its own watcher'))
    elseif index then
      vim.health.info('symbol index: still being built (cross-file context once it is ready)')
    end
  end
end

local function check_logs()
  vim.health.start('mistral-lsp: logs')
  vim.health.ok(
    ("the server logs to stderr, which Neovim's LSP log keeps: %s (Neovim's LSP log level: %s)"):format(
      vim.lsp.log.get_filename(),
      level_name(vim.lsp.log.get_level())
    )
  )
  vim.health.info(
    "Open it with :MistralLsp log. More detail: settings = { logLevel = 'debug' } (or MISTRAL_LSP_LOG_LEVEL=debug)."
  )
end

function M.check()
  local mistral = require('mistral_lsp')
  local cli = require('mistral_lsp.cli')
  if not check_neovim(mistral) then
    return
  end
  if check_server(cli) then
    check_endpoint(cli, cli.root())
    check_clients(mistral)
  end
  check_logs()
end

return M
