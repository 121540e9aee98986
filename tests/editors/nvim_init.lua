-- The init file of the Neovim under test (tests/editors/test_neovim.py).
--
-- It does what a user's init.lua would do (put the client on 'runtimepath', enable the server) plus
-- two test hooks: vim.notify is recorded, and MistralTest.eval runs Lua sent by the test through
-- `nvim --server SOCKET --remote-expr`.

-- Opening a .py file would otherwise probe for the Python 3 provider (seconds, and flaky).
vim.g.loaded_python3_provider = 0
vim.g.loaded_node_provider = 0
vim.g.loaded_perl_provider = 0
vim.g.loaded_ruby_provider = 0

vim.o.swapfile = false
vim.o.shadafile = 'NONE'
vim.o.more = false

local plugin = assert(vim.env.MISTRAL_LSP_NVIM_PLUGIN, 'MISTRAL_LSP_NVIM_PLUGIN is not set')
vim.opt.runtimepath:prepend(plugin)

_G.MistralTest = { messages = {} }

vim.notify = function(msg, level)
  table.insert(MistralTest.messages, { msg = tostring(msg), level = level or vim.log.levels.INFO })
end

local function unhex(hex)
  return (hex:gsub('..', function(pair)
    return string.char(tonumber(pair, 16))
  end))
end

--- Run `code` (a Lua chunk; `...` are the args) and answer JSON {ok, value} or {ok = false, error}.
function MistralTest.eval(hex)
  local payload = vim.json.decode(unhex(hex))
  local chunk, err = loadstring(payload.code, 'test')
  if not chunk then
    return vim.json.encode({ ok = false, error = err })
  end
  local ok, value = xpcall(chunk, debug.traceback, unpack(payload.args or {}))
  if not ok then
    return vim.json.encode({ ok = false, error = tostring(value) })
  end
  local encoded, json = pcall(vim.json.encode, { ok = true, value = value })
  if not encoded then
    return vim.json.encode({ ok = true, value = vim.inspect(value) })
  end
  return json
end

--- The buffer-local keymaps' left-hand sides, for one mode.
function MistralTest.buffer_maps(mode)
  local lhs = {}
  for _, map in ipairs(vim.api.nvim_buf_get_keymap(0, mode)) do
    if (map.desc or ''):find('^mistral%-lsp') then
      lhs[#lhs + 1] = map.lhs
    end
  end
  table.sort(lhs)
  return lhs
end

-- What a user writes: the shipped config, enabled by name.
vim.lsp.enable('mistral_lsp')
