-- mistral-lsp for Neovim 0.11+.
--
-- The server starts through lsp/mistral_lsp.lua and `vim.lsp.enable('mistral_lsp')`. This module adds
-- what a config table cannot: option merging (`setup()`), AI completions wired into Neovim's own
-- completion (ghost text through `vim.lsp.inline_completion` on 0.12+, completion items on 0.11),
-- opt-in keymaps and the `:MistralLsp` command. Nothing here is needed to get completions: without
-- `setup()` the defaults below apply as soon as the server attaches.

local cli = require('mistral_lsp.cli')
local ui = require('mistral_lsp.ui')

local M = {}

M.NAME = cli.NAME
local SERVER_NAME = 'mistral-lsp' -- the serverInfo.name the server reports

---@class mistral_lsp.Options
M.defaults = {
  -- The command that starts the server. nil keeps lsp/mistral_lsp.lua's { 'mistral-lsp', 'serve' };
  -- e.g. { '/path/to/venv/bin/mistral-lsp', 'serve' } or { 'python3', '-m', 'lsp_server', 'serve' }.
  cmd = nil, ---@type string[]?
  filetypes = nil, ---@type string[]? nil keeps the config's list
  root_markers = nil, ---@type string[]?
  -- The `mistralLsp` section sent to the server (docs/configuration.md). Only what you put here is
  -- sent, so the server's own resolution (environment, project file, defaults) applies to the rest:
  -- leave `endpoint` and `model` out unless this editor must use another model server.
  settings = {},
  -- Call vim.lsp.enable('mistral_lsp') in setup().
  enable = true,
  -- Neovim 0.12+: show AI completions as ghost text (vim.lsp.inline_completion).
  inline_completion = true,
  completion = {
    -- The AI completion item in Neovim's completion menu (vim.lsp.completion): true, false, or
    -- 'auto' = only where ghost text is not shown (Neovim 0.11, or inline_completion = false).
    -- Completion plugins (blink.cmp, nvim-cmp) get the item from the server either way.
    enable = 'auto', ---@type boolean|'auto'
    -- Open the menu by itself after the server's trigger characters (. ( , = :).
    autotrigger = false,
    -- 'completeopt' for the buffers the server attaches to, set only while the global value is
    -- Neovim's default ('menu,popup', which inserts a single item unseen): a menu even for the
    -- one AI item, nothing inserted until <C-y>. false: leave 'completeopt' alone.
    completeopt = 'menu,menuone,noinsert,popup', ---@type string|false
  },
  -- Buffer-local keymaps, set when the server attaches: false (none), true (the defaults below) or
  -- a table overriding them (a key set to false is not mapped).
  keymaps = false, ---@type boolean|table<string, string|false>
}

M.default_keymaps = {
  suggest = '<M-\\>', -- insert: ask for an AI completion now
  accept = '<Tab>', -- insert, 0.12+: accept the ghost text (a plain <Tab> when there is none)
  next = '<M-]>', -- insert, 0.12+: next suggestion
  prev = '<M-[>', -- insert, 0.12+: previous suggestion
  review_file = '<leader>mr', -- normal: review the current file
  review_workspace = '<leader>mR', -- normal: review the workspace
  toggle_completions = '<leader>mt', -- normal: automatic completions on/off
  status = '<leader>ms', -- normal: model state
}

---@type mistral_lsp.Options
M.options = vim.deepcopy(M.defaults)

--- The last status each client's server reported (client id -> `mistral-lsp.status` answer): pushed
--- by the server as `mistral-lsp/status` whenever it changes, and refreshed by :MistralLsp status.
---@type table<integer, table>
M.statuses = {}

local notify = ui.notify
local plural = ui.plural

---@return boolean
function M.has_inline_completion()
  local ok, inline = pcall(function()
    return vim.lsp.inline_completion
  end)
  return ok and type(inline) == 'table' and type(inline.enable) == 'function'
end

--- Is this client a mistral-lsp server (started from our config, or by another name)?
---@param client vim.lsp.Client?
---@return boolean
function M.is_ours(client)
  if not client then
    return false
  end
  return client.name == M.NAME or (client.server_info ~= nil and client.server_info.name == SERVER_NAME)
end

--- The mistral-lsp client of a buffer, else any running one.
---@param bufnr? integer
---@return vim.lsp.Client?
function M.get_client(bufnr)
  bufnr = bufnr or vim.api.nvim_get_current_buf()
  for _, client in ipairs(vim.lsp.get_clients({ bufnr = bufnr })) do
    if M.is_ours(client) then
      return client
    end
  end
  for _, client in ipairs(vim.lsp.get_clients()) do
    if M.is_ours(client) then
      return client
    end
  end
  return nil
end

---@param client vim.lsp.Client
---@return string
local function server_label(client)
  local info = client.server_info or {}
  if info.version then
    return ('%s %s'):format(info.name or SERVER_NAME, info.version)
  end
  return info.name or SERVER_NAME
end

---@param client vim.lsp.Client
---@param command string
---@return boolean
function M.server_has_command(client, command)
  local provider = (client.server_capabilities or {}).executeCommandProvider
  local commands = type(provider) == 'table' and provider.commands or {}
  if vim.list_contains(commands, command) then
    return true
  end
  -- commands registered later through client/registerCapability
  local ok, registered = pcall(function()
    return client.dynamic_capabilities:get('workspace/executeCommand')
  end)
  for _, registration in ipairs(ok and registered or {}) do
    if vim.list_contains(vim.tbl_get(registration, 'registerOptions', 'commands') or {}, command) then
      return true
    end
  end
  return false
end

-- -- Results shown to the user --------------------------------------------------------------------

--- The lines of a `mistral-lsp.status` answer (also pushed as `mistral-lsp/status`).
---@param status table
---@return string[]
function M.status_lines(status)
  local reason = type(status.reason) == 'string' and status.reason ~= '' and (' (' .. status.reason .. ')') or ''
  local lines = { ('model server: %s%s'):format(status.state or '?', reason) }
  if status.endpoint then
    lines[#lines + 1] = ('endpoint: %s'):format(status.endpoint)
  end
  if status.model then
    lines[#lines + 1] = ('model: %s'):format(status.model)
  end
  if status.completionsEnabled ~= nil then
    local latency = type(status.lastCompletionLatencyMs) == 'number'
        and (', last one %d ms'):format(math.floor(status.lastCompletionLatencyMs + 0.5))
      or ''
    lines[#lines + 1] = ('completions: %s%s; %s, %s, %s, %s'):format(
      status.completionsEnabled and 'on' or 'off',
      latency,
      plural(status.requests, 'request'),
      plural(status.modelCalls, 'model call'),
      plural(status.cacheHits, 'cache hit'),
      plural(status.errors, 'error')
    )
  end
  local review = status.review
  if type(review) == 'table' and review.enabled ~= nil then
    local triggers = type(review.triggers) == 'table' and table.concat(review.triggers, ', ') or ''
    lines[#lines + 1] = ('review: %s%s; %s, %s'):format(
      review.enabled and 'on' or 'off',
      triggers ~= '' and (' (' .. triggers .. ')') or '',
      plural(review.findings, 'finding'),
      plural(review.modelCalls, 'model call')
    )
  end
  local index = status.index
  if type(index) == 'table' and index.enabled then
    lines[#lines + 1] = index.ready and ('index: %s, %s'):format(plural(index.files, 'file'), plural(index.symbols, 'symbol'))
      or 'index: being built'
  end
  return lines
end

local function show_status(status, client)
  if type(status) ~= 'table' then
    return notify('status: ' .. vim.inspect(status))
  end
  M.statuses[client.id] = status
  local level = status.state == 'unavailable' and vim.log.levels.WARN or vim.log.levels.INFO
  ui.float(server_label(client), M.status_lines(status), level)
end

--- The `mistral-lsp/status` notification (lsp/mistral_lsp.lua asks the server for it).
---@param result table
---@param ctx lsp.HandlerContext
function M.on_status(_, result, ctx)
  if type(result) == 'table' and ctx and ctx.client_id then
    M.statuses[ctx.client_id] = result
    vim.api.nvim_exec_autocmds('User', { pattern = 'MistralLspStatus', modeline = false, data = { client_id = ctx.client_id } })
  end
end

--- A short state for 'statusline' / 'winbar': "Mistral: ready", "Mistral: unreachable",
--- "Mistral: completions off"; '' where the server is not attached.
---@param bufnr? integer
---@return string
function M.statusline(bufnr)
  bufnr = bufnr or vim.api.nvim_get_current_buf()
  local state = vim.b[bufnr].mistral_lsp
  if not state then
    return ''
  end
  local status = M.statuses[state.client_id]
  if not status then
    return 'Mistral: starting'
  end
  local label = ({ ready = 'ready', unavailable = 'unreachable', unknown = 'not checked yet' })[status.state]
    or tostring(status.state or '?')
  if status.completionsEnabled == false and label == 'ready' then
    label = 'completions off'
  end
  return 'Mistral: ' .. label
end

local function show_toggle(result, client)
  local enabled = type(result) == 'table' and result.completionsEnabled
  if client and M.statuses[client.id] then
    M.statuses[client.id].completionsEnabled = enabled == true
  end
  if enabled then
    notify('automatic AI completions are on')
  else
    notify('automatic AI completions are off (completions you ask for still work)')
  end
end

local function show_review_file(result, _, bufnr)
  local name = vim.fn.fnamemodify(vim.api.nvim_buf_get_name(bufnr), ':~:.')
  if type(result) ~= 'table' then
    return notify(('reviewed %s'):format(name))
  end
  if type(result.message) == 'string' then -- the server's own words (the same in every editor)
    local problem = result.reviewed == false or (type(result.errors) == 'table' and #result.errors > 0)
    return notify(result.message, problem and vim.log.levels.WARN or vim.log.levels.INFO)
  end
  if result.reviewed == false then
    local reason = tostring(result.reason or 'no reason given')
    return notify(('%s was not reviewed: %s'):format(name, reason), vim.log.levels.WARN)
  end
  local shown = result.shown or result.findings
  local details = {}
  if result.units then
    details[#details + 1] = plural(result.units, 'unit')
  end
  if (tonumber(result.cachedUnits) or 0) > 0 then
    details[#details + 1] = ('%d from cache'):format(result.cachedUnits)
  end
  local errors = type(result.errors) == 'table' and #result.errors or 0
  notify(
    ('reviewed %s: %s%s%s'):format(
      name,
      plural(shown, 'finding'),
      #details > 0 and (' (' .. table.concat(details, ', ') .. ')') or '',
      errors > 0 and ('; errors: ' .. table.concat(result.errors, '; ')) or ''
    ),
    errors > 0 and vim.log.levels.WARN or vim.log.levels.INFO
  )
end

local function show_review_workspace(result)
  if type(result) ~= 'table' then
    return notify('workspace review started')
  end
  if type(result.message) == 'string' then
    return notify(result.message, result.started == false and vim.log.levels.WARN or vim.log.levels.INFO)
  end
  if result.started == false then
    local reason = tostring(result.reason or 'no reason given')
    return notify(('workspace review not started: %s'):format(reason), vim.log.levels.WARN)
  end
  local skipped = type(result.skipped) == 'table' and #result.skipped or tonumber(result.skipped) or 0
  notify(
    ('reviewing %s in the background%s; findings appear as diagnostics (:lua vim.diagnostic.setqflist())'):format(
      plural(result.files, 'file'),
      skipped > 0 and (' (%d skipped)'):format(skipped) or ''
    )
  )
end

local function show_done(what)
  return function(result)
    if type(result) == 'table' and type(result.message) == 'string' then
      return notify(result.message)
    end
    notify(what .. ': done')
  end
end

-- -- Subcommands -----------------------------------------------------------------------------------

local function file_args(bufnr)
  return { vim.uri_from_bufnr(bufnr) }
end

local function run_check(bufnr)
  local root = cli.root(bufnr)
  local cmd = cli.command(cli.check_args(root, false))
  local ok, err = pcall(vim.system, cmd, { text = true, env = cli.env(), cwd = root }, function(result)
    vim.schedule(function()
      local out = vim.trim((result.stdout or '') .. '\n' .. (result.stderr or ''))
      local level = result.code == 0 and vim.log.levels.INFO or vim.log.levels.ERROR
      ui.float(('mistral-lsp check: %s'):format(vim.fn.fnamemodify(root, ':~')), vim.split(out, '\n', { plain = true }), level)
    end)
  end)
  if not ok then
    notify(('cannot run `%s`: %s (see :checkhealth mistral_lsp)'):format(table.concat(cmd, ' '), err), vim.log.levels.ERROR)
  end
end

local function open_log()
  vim.cmd.tabedit(vim.fn.fnameescape(vim.lsp.log.get_filename()))
end

local function restart()
  if not vim.lsp.is_enabled(M.NAME) then
    return notify(("restart needs vim.lsp.enable('%s') (or setup())"):format(M.NAME), vim.log.levels.WARN)
  end
  local ids = vim.tbl_map(function(c)
    return c.id
  end, vim.tbl_filter(M.is_ours, vim.lsp.get_clients()))
  vim.lsp.enable(M.NAME, false)
  -- Start again only once the old clients are gone: a client that is still shutting down would
  -- otherwise be reused for the buffers.
  local waited = 0
  local timer = assert(vim.uv.new_timer())
  timer:start(50, 50, vim.schedule_wrap(function()
    waited = waited + 50
    local alive = vim.tbl_filter(function(id)
      return vim.lsp.get_client_by_id(id) ~= nil
    end, ids)
    if #alive > 0 and waited < 5000 then
      if waited == 3000 then
        for _, id in ipairs(alive) do
          vim.lsp.get_client_by_id(id):stop(true)
        end
      end
      return
    end
    timer:stop()
    timer:close()
    vim.lsp.enable(M.NAME, true)
    notify('restarted')
  end))
end

--- The :MistralLsp subcommands. A server command is one line here: `server` is the
--- workspace/executeCommand name, `args` builds its arguments from the buffer, `show` displays the
--- result. A command the running server does not have gets a clear message, not an error.
M.subcommands = {
  reviewFile = { server = 'mistral-lsp.reviewFile', args = file_args, show = show_review_file, desc = 'review the current file' },
  reviewWorkspace = { server = 'mistral-lsp.reviewWorkspace', show = show_review_workspace, desc = 'review the workspace' },
  toggleCompletions = { server = 'mistral-lsp.toggleCompletions', show = show_toggle, desc = 'turn automatic AI completions on or off' },
  status = { server = 'mistral-lsp.status', show = show_status, desc = 'show the model state' },
  clearCache = { server = 'mistral-lsp.clearCache', desc = 'clear the completion and review caches' },
  check = { run = run_check, desc = 'run `mistral-lsp check`: is the model server usable?' },
  log = { run = open_log, desc = "open Neovim's LSP log (the server writes its log there)" },
  restart = { run = restart, desc = 'restart the server' },
}

---@param err table
---@return boolean
local function is_unknown_command_error(err)
  local message = tostring(err.message or ''):lower()
  if err.code == -32601 then -- MethodNotFound
    return true
  end
  -- pygls: -32602 "Invalid Params: Command name 'x' is not defined"
  if not message:find('command', 1, true) then
    return false
  end
  for _, phrase in ipairs({ 'not defined', 'not found', 'unknown', 'not supported' }) do
    if message:find(phrase, 1, true) then
      return true
    end
  end
  return false
end

local function unknown_command(client, spec)
  local version = (client.server_info or {}).version
  notify(
    ('the running server%s has no `%s` command, so "%s" is not available with it yet. Update mistral-lsp, then :MistralLsp restart.'):format(
      version and (' (version %s)'):format(version) or '',
      spec.server,
      spec.desc
    ),
    vim.log.levels.WARN
  )
end

--- Run a :MistralLsp subcommand by name (the keys of M.subcommands).
---@param name string
---@param bufnr? integer
function M.execute(name, bufnr)
  bufnr = (bufnr == nil or bufnr == 0) and vim.api.nvim_get_current_buf() or bufnr
  local spec = M.subcommands[name]
  if not spec then
    local names = vim.tbl_keys(M.subcommands)
    table.sort(names)
    return notify(('unknown command `%s`; try one of: %s'):format(name, table.concat(names, ', ')), vim.log.levels.ERROR)
  end
  if spec.run then
    return spec.run(bufnr)
  end
  local client = M.get_client(bufnr)
  if not client then
    return notify(
      'the server is not running here: open a file of a supported type, or see :checkhealth mistral_lsp',
      vim.log.levels.WARN
    )
  end
  if not M.server_has_command(client, spec.server) then
    return unknown_command(client, spec)
  end
  local params = { command = spec.server, arguments = spec.args and spec.args(bufnr, client) or nil }
  client:request('workspace/executeCommand', params, function(err, result)
    if err then
      if is_unknown_command_error(err) then
        return unknown_command(client, spec)
      end
      return notify(('%s failed: %s'):format(spec.desc, err.message or vim.inspect(err)), vim.log.levels.ERROR)
    end
    local show = spec.show or show_done(spec.desc)
    show(result, client, bufnr)
  end, bufnr)
end

---@param arglead string
---@return string[]
function M.complete(arglead)
  local names = vim.tbl_filter(function(name)
    return vim.startswith(name, arglead)
  end, vim.tbl_keys(M.subcommands))
  table.sort(names)
  return names
end

-- -- Completion items (Neovim 0.11) ----------------------------------------------------------------

---@param item lsp.CompletionItem
---@return string?
local function item_text(item)
  if type(item.textEdit) == 'table' and type(item.textEdit.newText) == 'string' then
    return item.textEdit.newText
  end
  return type(item.insertText) == 'string' and item.insertText or nil
end

-- Neovim inserts a plain-text item only up to its first whitespace: show and insert the whole first
-- line of an AI item instead (CompleteDone below adds the other lines).
---@param item lsp.CompletionItem
---@return table
function M.convert(item)
  local text = item.detail == SERVER_NAME and item_text(item)
  if not text then
    return {}
  end
  return { word = vim.split(text, '\n', { plain = true })[1] }
end

-- After an AI item is accepted, make the buffer hold its whole text, every line of it. Vim is still
-- finishing the completion while CompleteDone runs (it would re-insert part of the word if the
-- text moved under it), so the edit waits for the next tick, and is skipped if anything else
-- changed the buffer meanwhile.
local function on_complete_done(bufnr)
  local event = vim.v.event or {}
  if event.reason ~= nil and event.reason ~= 'accept' then
    return
  end
  local completed = vim.v.completed_item
  local data = type(completed) == 'table' and vim.tbl_get(completed, 'user_data', 'nvim', 'lsp')
  if type(data) ~= 'table' or not M.is_ours(vim.lsp.get_client_by_id(data.client_id)) then
    return
  end
  local text = item_text(data.completion_item or {})
  local word = completed.word or ''
  if not text or text == word or not vim.startswith(text, word) then
    return
  end
  local win = vim.api.nvim_get_current_win()
  if vim.api.nvim_win_get_buf(win) ~= bufnr then
    return
  end
  local row, col = unpack(vim.api.nvim_win_get_cursor(win))
  local start = col - #word
  local tick = vim.b[bufnr].changedtick
  vim.schedule(function()
    if not vim.api.nvim_buf_is_valid(bufnr) or vim.b[bufnr].changedtick ~= tick or start < 0 then
      return
    end
    local line = vim.api.nvim_buf_get_lines(bufnr, row - 1, row, false)[1] or ''
    if line:sub(start + 1, col) ~= word then
      return -- not what we expect to find: leave the buffer alone
    end
    local lines = vim.split(text, '\n', { plain = true })
    vim.api.nvim_buf_set_text(bufnr, row - 1, start, row - 1, col, lines)
    if vim.api.nvim_win_is_valid(win) and vim.api.nvim_win_get_buf(win) == bufnr then
      local end_col = (#lines == 1 and start or 0) + #lines[#lines]
      local insert = vim.api.nvim_get_mode().mode:sub(1, 1) == 'i'
      vim.api.nvim_win_set_cursor(win, { row + #lines - 1, insert and end_col or math.max(end_col - 1, 0) })
    end
  end)
end

-- -- Attaching -------------------------------------------------------------------------------------

---@return table<string, string>
local function keymap_table()
  local keymaps = M.options.keymaps
  if keymaps == true then
    return vim.deepcopy(M.default_keymaps)
  end
  if type(keymaps) ~= 'table' then
    return {}
  end
  local merged = vim.tbl_extend('force', M.default_keymaps, keymaps)
  for key, lhs in pairs(merged) do
    if not lhs then
      merged[key] = nil
    end
  end
  return merged
end

local buffer_maps = {} ---@type table<integer, {[1]: string, [2]: string}[]> bufnr -> { mode, lhs }

local function clear_keymaps(bufnr)
  for _, map in ipairs(buffer_maps[bufnr] or {}) do
    pcall(vim.keymap.del, map[1], map[2], { buffer = bufnr })
  end
  buffer_maps[bufnr] = nil
end

local function set_keymaps(bufnr, inline)
  clear_keymaps(bufnr)
  local maps = keymap_table()
  local set = {}
  buffer_maps[bufnr] = set
  local function map(mode, key, rhs, desc, opts)
    if maps[key] then
      local map_opts = vim.tbl_extend('force', { buffer = bufnr, desc = 'mistral-lsp: ' .. desc }, opts or {})
      vim.keymap.set(mode, maps[key], rhs, map_opts)
      set[#set + 1] = { mode, maps[key] }
    end
  end
  if inline then
    map('i', 'accept', function()
      if not vim.lsp.inline_completion.get() then
        return '<Tab>'
      end
    end, 'accept the AI suggestion', { expr = true, replace_keycodes = true })
    map('i', 'next', function()
      vim.lsp.inline_completion.select({ count = 1 })
    end, 'next AI suggestion')
    map('i', 'prev', function()
      vim.lsp.inline_completion.select({ count = -1 })
    end, 'previous AI suggestion')
    map('i', 'suggest', function()
      vim.lsp.inline_completion.get()
    end, 'ask for an AI suggestion')
  else
    map('i', 'suggest', function()
      if vim.b[bufnr].mistral_lsp and vim.b[bufnr].mistral_lsp.completion then
        vim.lsp.completion.get()
      else
        vim.api.nvim_feedkeys(vim.keycode('<C-x><C-o>'), 'n', false)
      end
    end, 'ask for an AI completion')
  end
  map('n', 'review_file', function()
    M.execute('reviewFile', bufnr)
  end, 'review this file')
  map('n', 'review_workspace', function()
    M.execute('reviewWorkspace', bufnr)
  end, 'review the workspace')
  map('n', 'toggle_completions', function()
    M.execute('toggleCompletions', bufnr)
  end, 'automatic completions on/off')
  map('n', 'status', function()
    M.execute('status', bufnr)
  end, 'model status')
end

--- Wire a mistral-lsp client into a buffer: ghost text (0.12+) or completion items, the multi-line
--- fix for accepted items, keymaps. Called from LspAttach (plugin/mistral_lsp.lua).
---@param client vim.lsp.Client
---@param bufnr integer
function M.attach(client, bufnr)
  local opts = M.options
  local before = vim.b[bufnr].mistral_lsp or {}
  local inline = false
  local can_inline = M.has_inline_completion() and client:supports_method('textDocument/inlineCompletion', bufnr)
  if opts.inline_completion and can_inline then
    inline = pcall(vim.lsp.inline_completion.enable, true, { bufnr = bufnr, client_id = client.id })
      or pcall(vim.lsp.inline_completion.enable, true, { bufnr = bufnr })
  elseif before.inline then -- setup() turned it off
    pcall(vim.lsp.inline_completion.enable, false, { bufnr = bufnr })
  end
  local want_items = opts.completion.enable
  if want_items == 'auto' then
    want_items = not inline
  end
  local items = false
  local completeopt = before.completeopt
  if want_items and client:supports_method('textDocument/completion', bufnr) then
    vim.lsp.completion.enable(true, client.id, bufnr, { autotrigger = opts.completion.autotrigger, convert = M.convert })
    items = true
    completeopt = M.set_completeopt(bufnr, opts.completion.completeopt, completeopt)
  elseif before.completion then -- setup() turned it off
    vim.lsp.completion.enable(false, client.id, bufnr)
    completeopt = M.set_completeopt(bufnr, false, completeopt)
  end
  local group = vim.api.nvim_create_augroup(('mistral_lsp.buffer.%d'):format(bufnr), { clear = true })
  vim.api.nvim_create_autocmd('CompleteDone', {
    group = group,
    buffer = bufnr,
    desc = 'mistral-lsp: insert every line of an accepted AI completion',
    callback = function()
      on_complete_done(bufnr)
    end,
  })
  set_keymaps(bufnr, inline)
  vim.b[bufnr].mistral_lsp = { client_id = client.id, inline = inline, completion = items, completeopt = completeopt }
end

---@param client vim.lsp.Client
---@param bufnr integer
function M.detach(client, bufnr)
  local state = vim.b[bufnr].mistral_lsp
  if not state or state.client_id ~= client.id then
    return
  end
  pcall(vim.api.nvim_del_augroup_by_name, ('mistral_lsp.buffer.%d'):format(bufnr))
  clear_keymaps(bufnr)
  M.set_completeopt(bufnr, false, state.completeopt)
  vim.b[bufnr].mistral_lsp = nil
end

--- Set (or with `wanted` false, undo) the buffer-local 'completeopt' for the AI item. Only while the
--- global value is Neovim's default and the buffer has none of its own: a user's choice wins.
--- Returns the value set, or nil.
---@param bufnr integer
---@param wanted string|false
---@param ours? string the value set earlier, if any
---@return string?
function M.set_completeopt(bufnr, wanted, ours)
  local current = vim.api.nvim_get_option_value('completeopt', { buf = bufnr }) -- the buffer's own value ('' if none)
  if not wanted then
    if ours and current == ours then
      vim.bo[bufnr].completeopt = '' -- back to the global value
    end
    return nil
  end
  local default = vim.api.nvim_get_option_info2('completeopt', {}).default
  if (current ~= '' and current ~= ours) or vim.go.completeopt ~= default then
    return nil
  end
  vim.bo[bufnr].completeopt = wanted
  return wanted
end

--- Merge options, pass the server options to vim.lsp.config and (by default) enable the server.
---@param opts? mistral_lsp.Options
---@return table
function M.setup(opts)
  opts = opts or {}
  vim.validate('opts', opts, 'table')
  M.options = vim.tbl_deep_extend('force', vim.deepcopy(M.defaults), M.options or {}, opts)
  if opts.keymaps ~= nil then -- a table of keymaps replaces, not merges with, an earlier one
    M.options.keymaps = opts.keymaps
  end
  local overrides = {}
  for _, key in ipairs({ 'cmd', 'filetypes', 'root_markers' }) do
    if opts[key] ~= nil then
      overrides[key] = opts[key]
    end
  end
  if opts.settings and next(opts.settings) then
    overrides.settings = { mistralLsp = opts.settings }
  end
  if next(overrides) then
    vim.lsp.config(M.NAME, overrides)
  end
  if M.options.enable then
    vim.lsp.enable(M.NAME)
  end
  -- Buffers the server attached to before setup() ran (e.g. a lazily loaded plugin) get the new
  -- options too.
  for _, client in ipairs(vim.tbl_filter(M.is_ours, vim.lsp.get_clients())) do
    for bufnr in pairs(client.attached_buffers or {}) do
      M.attach(client, bufnr)
    end
  end
  return M
end

return M
