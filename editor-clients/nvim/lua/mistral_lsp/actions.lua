-- mistral-lsp for Neovim: the AI actions. Implement, Optimise, Explain, Document, Write tests, Edit
-- with an instruction and the actions of your own run on the server (`mistral-lsp.runAction`); edits
-- come back as one workspace edit (one undo step), an explanation as Markdown in a floating window.
--
-- They appear in vim.lsp.buf.code_action() (the server lists them); the ones that need an answer from
-- you (an instruction) or show something (an explanation) run the command below, registered as
-- vim.lsp.commands['mistral-lsp.runAction']. The :Mistral* commands run them directly.

local ui = require('mistral_lsp.ui')

local M = {}

M.RUN = 'mistral-lsp.runAction'
M.LIST = 'mistral-lsp.listActions'

---@param bufnr integer
---@return vim.lsp.Client?
local function client_for(bufnr)
  local mistral = require('mistral_lsp')
  local client = mistral.get_client(bufnr)
  if not client then
    ui.notify('the server is not running here: open a file of a supported type', vim.log.levels.WARN)
    return nil
  end
  if not mistral.server_has_command(client, M.RUN) then
    ui.notify('this mistral-lsp server has no AI actions yet: update it, then :MistralLsp restart', vim.log.levels.WARN)
    return nil
  end
  return client
end

--- The LSP range of `range`, in the client's position encoding: an LSP range as it is (whole lines),
--- mark positions ({ {row, col}, {row, col} }: 1-based rows, 0-based byte columns, end inclusive), or
--- the cursor when nil.
---@param client vim.lsp.Client
---@param bufnr integer
---@param range? table
---@return lsp.Range
function M.lsp_range(client, bufnr, range)
  local encoding = client.offset_encoding or 'utf-16'
  if range and range.start then
    return range
  end
  if range then
    return vim.lsp.util.make_given_range_params(range[1], range[2], bufnr, encoding).range
  end
  local win = vim.fn.bufwinid(bufnr)
  return vim.lsp.util.make_range_params(win ~= -1 and win or 0, encoding).range
end

--- What came back: an explanation in a float, a refusal said in one line; edits were applied already.
---@param err? lsp.ResponseError
---@param result? table
function M.show(err, result)
  if err then
    if not tostring(err.message or ''):lower():find('cancel') then
      ui.notify(('the AI action failed: %s'):format(err.message or vim.inspect(err)), vim.log.levels.ERROR)
    end
    return
  end
  if type(result) ~= 'table' then
    return
  end
  if result.ok and type(result.markdown) == 'string' then
    local lines = vim.split(result.markdown, '\n', { plain = true })
    ui.float(result.title or result.message or 'mistral-lsp', lines, nil, 'markdown')
  elseif result.ok == false and not result.cancelled then
    ui.notify(tostring(result.message or 'the AI action did nothing'), vim.log.levels.WARN)
  end
end

--- Ask for an instruction, then call `done` with it (not when the user gives none).
---@param title string
---@param done fun(instruction: string)
function M.ask(title, done)
  vim.ui.input({ prompt = title .. ': ' }, function(text)
    if text and vim.trim(text) ~= '' then
      done(vim.trim(text))
    end
  end)
end

--- Send `args` to the server; ask for an instruction first if the action wants one and has none, or
--- when the server answers that it needs one.
---@param client vim.lsp.Client
---@param bufnr integer
---@param args table
local function send(client, bufnr, args)
  args.display = 'client'
  client:request('workspace/executeCommand', { command = M.RUN, arguments = { args } }, function(err, result)
    if not err and type(result) == 'table' and result.needsInstruction and not args.instruction then
      return M.ask(args.title or 'Instruction', function(instruction)
        send(client, bufnr, vim.tbl_extend('force', args, { instruction = instruction }))
      end)
    end
    M.show(err, result)
  end, bufnr)
end

--- Run the server action `name` on the selection `range` (or at the cursor).
---@param name string
---@param opts? { bufnr?: integer, range?: table, instruction?: string }
function M.run(name, opts)
  opts = opts or {}
  local bufnr = (opts.bufnr == nil or opts.bufnr == 0) and vim.api.nvim_get_current_buf() or opts.bufnr
  local client = client_for(bufnr)
  if not client then
    return
  end
  local args = { action = name, uri = vim.uri_from_bufnr(bufnr), range = M.lsp_range(client, bufnr, opts.range) }
  if opts.instruction and opts.instruction ~= '' then
    args.instruction = opts.instruction
    return send(client, bufnr, args)
  end
  if name == 'edit' then
    return M.ask('Edit with AI', function(instruction)
      send(client, bufnr, vim.tbl_extend('force', args, { instruction = instruction }))
    end)
  end
  send(client, bufnr, args)
end

--- The code action command (vim.lsp.commands): asks for the instruction when the action wants one.
---@param command lsp.Command
---@param ctx table
function M.on_command(command, ctx)
  local client = vim.lsp.get_client_by_id(ctx.client_id)
  local args = vim.deepcopy((command.arguments or {})[1] or {})
  if not client then
    return
  end
  local bufnr = ctx.bufnr or vim.uri_to_bufnr(args.uri)
  if args.ask == 'instruction' and not args.instruction then
    return M.ask(args.title or command.title or 'Instruction', function(instruction)
      send(client, bufnr, vim.tbl_extend('force', args, { instruction = instruction }))
    end)
  end
  send(client, bufnr, args)
end

--- The range a user command was given: the characterwise visual selection, the given lines (an LSP
--- range from the first line's start to the start of the line after the last), or nil (the cursor).
---@param opts table the user command's arguments
---@return table?
function M.command_range(opts)
  if opts.range == 0 then
    return nil
  end
  local first, last = opts.line1, opts.line2
  local vstart, vend = vim.fn.getpos("'<"), vim.fn.getpos("'>")
  if vim.fn.visualmode() == 'v' and vstart[2] == first and vend[2] == last then
    return { { first, vstart[3] - 1 }, { last, vend[3] - 1 } }
  end
  return { start = { line = first - 1, character = 0 }, ['end'] = { line = last, character = 0 } }
end

--- The actions that apply at the cursor or `range` (the server's list): for :MistralAction.
---@param bufnr integer
---@param range? table
---@return table[]
function M.list(bufnr, range)
  local client = require('mistral_lsp').get_client(bufnr)
  if not client then
    return {}
  end
  local answer = client:request_sync('workspace/executeCommand', {
    command = M.LIST,
    arguments = { { uri = vim.uri_from_bufnr(bufnr), range = M.lsp_range(client, bufnr, range) } },
  }, 3000, bufnr)
  return answer and type(answer.result) == 'table' and answer.result or {}
end

--- :MistralAction [name [instruction]]: run one of the actions that apply here (a list without a name).
---@param opts table the user command's arguments
function M.action_command(opts)
  local range = M.command_range(opts)
  local name = opts.fargs[1]
  local instruction = #opts.fargs > 1 and table.concat(vim.list_slice(opts.fargs, 2), ' ') or nil
  if name then
    return M.run(name, { range = range, instruction = instruction })
  end
  local bufnr = vim.api.nvim_get_current_buf()
  local listed = M.list(bufnr, range)
  if #listed == 0 then
    return ui.notify('no AI action applies here')
  end
  vim.ui.select(listed, {
    prompt = 'AI action',
    format_item = function(item)
      return item.title .. (item.builtin and '' or ' (yours)')
    end,
  }, function(item)
    if item then
      M.run(item.action, { range = range })
    end
  end)
end

return M
