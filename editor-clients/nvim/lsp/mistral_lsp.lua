-- mistral-lsp for Neovim 0.11+: AI completions from a self-hosted Mistral-Small-3.2 (vLLM).
--
-- With this directory on 'runtimepath', one line starts the server for the files below:
--
--   vim.lsp.enable('mistral_lsp')
--
-- Override any field with vim.lsp.config('mistral_lsp', { ... }) or require('mistral_lsp').setup().
--
-- `settings.mistralLsp` is deliberately empty: the model endpoint, the model name and the API key are
-- resolved by the server itself (MISTRAL_LSP_* environment, then .mistral-lsp.toml or
-- [tool.mistral-lsp] in pyproject.toml, then its defaults). Put a key here only to override those
-- for this editor; every key is described in docs/configuration.md.

---@type vim.lsp.Config
return {
  cmd = { 'mistral-lsp', 'serve' },
  -- languages: begin (the server's list: scripts/sync-editor-languages.py writes it)
  filetypes = {
    'python',
    'javascript',
    'javascriptreact',
    'typescript',
    'typescriptreact',
    'go',
    'rust',
    'java',
    'c',
    'cpp',
    'cs',
    'php',
    'ruby',
    'kotlin',
    'swift',
    'scala',
    'lua',
    'sh',
    'bash',
    'zsh',
    'sql',
    'markdown',
    'html',
    'rst',
  },
  -- languages: end
  root_markers = { '.mistral-lsp.toml', 'pyproject.toml', 'package.json', 'go.mod', 'Cargo.toml', '.git' },
  settings = {
    mistralLsp = vim.empty_dict(), -- sent as {} (an empty Lua table would be sent as [])
  },
  -- The settings go in initializationOptions too, so the server starts with them (its status and
  -- log never show defaults that are not in use); it pulls them again after `initialized`.
  before_init = function(params, config)
    local section = vim.tbl_get(config, 'settings', 'mistralLsp')
    if type(section) ~= 'table' or vim.tbl_isempty(section) then
      return
    end
    local options = type(params.initializationOptions) == 'table' and params.initializationOptions or {}
    if options.mistralLsp == nil then
      options.mistralLsp = section
    end
    params.initializationOptions = options
  end,
  -- The server pushes its status (model state, settings in use) when it changes:
  -- require('mistral_lsp').statusline() shows it.
  capabilities = {
    experimental = { mistralLsp = { statusNotification = true } },
  },
  handlers = {
    ['mistral-lsp/status'] = function(...)
      return require('mistral_lsp').on_status(...)
    end,
  },
}
