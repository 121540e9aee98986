-- mistral-lsp: the :MistralLsp command and the LspAttach hook that wires AI completions into each
-- buffer. Loading this costs nothing: lua/mistral_lsp is required only when it is used.

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
