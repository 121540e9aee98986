-- mistral-lsp: the :MistralLsp command, the AI action commands (:MistralEdit, :MistralExplain, ...) and
-- the LspAttach hook that wires AI completions into each buffer. Loading this costs nothing:
-- lua/mistral_lsp is required only when it is used.

if vim.g.loaded_mistral_lsp then
  return
end
vim.g.loaded_mistral_lsp = true

if vim.fn.has('nvim-0.11') == 0 then
  vim.api.nvim_create_user_command('MistralLsp', function()
    vim.notify('mistral-lsp: the Neovim client needs Neovim 0.11 or newer', vim.log.levels.ERROR)
  end, { nargs = '*' })
  return
end

vim.api.nvim_create_user_command('MistralLsp', function(args)
  local name = args.fargs[1] or 'status'
  require('mistral_lsp').execute(name, vim.api.nvim_get_current_buf())
end, {
  nargs = '?',
  desc = 'mistral-lsp: reviewFile, reviewWorkspace, toggleCompletions, status, check, clearCache, log, restart',
  complete = function(arglead)
    return require('mistral_lsp').complete(arglead)
  end,
})

-- The AI actions: :MistralImplement, :MistralOptimise, :MistralExplain, :MistralDocument, :MistralTests,
-- :MistralEdit [instruction] (on the cursor, a range or the visual selection) and :MistralAction [name].
for command, spec in pairs({
  MistralImplement = { action = 'implement', desc = 'implement the stub function at the cursor' },
  MistralOptimise = { action = 'optimise', desc = 'optimise the selection or the function at the cursor' },
  MistralExplain = { action = 'explain', desc = 'explain the selection or the function at the cursor' },
  MistralDocument = { action = 'document', desc = 'document the function at the cursor' },
  MistralTests = { action = 'tests', desc = 'write tests for the function at the cursor' },
  MistralEdit = { action = 'edit', desc = 'rewrite the selection following an instruction' },
}) do
  vim.api.nvim_create_user_command(command, function(args)
    local actions = require('mistral_lsp.actions')
    local instruction = args.args ~= '' and args.args or nil
    actions.run(spec.action, { range = actions.command_range(args), instruction = instruction })
  end, { range = true, nargs = '*', desc = 'mistral-lsp: ' .. spec.desc })
end

vim.api.nvim_create_user_command('MistralAction', function(args)
  require('mistral_lsp.actions').action_command(args)
end, {
  range = true,
  nargs = '*',
  desc = 'mistral-lsp: run an AI action that applies here (yours too): [name [instruction]]',
  complete = function(arglead)
    local names = vim.tbl_map(function(item)
      return item.action
    end, require('mistral_lsp.actions').list(vim.api.nvim_get_current_buf()))
    return vim.tbl_filter(function(name)
      return vim.startswith(name, arglead)
    end, names)
  end,
})

-- Code actions that run a command (an explanation, an action that asks for an instruction).
vim.lsp.commands['mistral-lsp.runAction'] = function(command, ctx)
  require('mistral_lsp.actions').on_command(command, ctx)
end

local group = vim.api.nvim_create_augroup('mistral_lsp', { clear = true })

vim.api.nvim_create_autocmd('LspAttach', {
  group = group,
  desc = 'mistral-lsp: AI completions in this buffer',
  callback = function(args)
    local client = vim.lsp.get_client_by_id(args.data.client_id)
    local mistral = require('mistral_lsp')
    if mistral.is_ours(client) then
      mistral.attach(client, args.buf)
    end
  end,
})

vim.api.nvim_create_autocmd('LspDetach', {
  group = group,
  callback = function(args)
    local client = vim.lsp.get_client_by_id(args.data.client_id)
    local mistral = require('mistral_lsp')
    if client and mistral.is_ours(client) then
      mistral.detach(client, args.buf)
    end
  end,
})
