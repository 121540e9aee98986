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
    'markdown', -- images in documents: hover, alt text, figure checks (docs/vision.md)
    'html',
    'rst',
  },
  root_markers = { '.mistral-lsp.toml', 'pyproject.toml', 'package.json', 'go.mod', 'Cargo.toml', '.git' },
  settings = {
    mistralLsp = vim.empty_dict(), -- sent as {} (an empty Lua table would be sent as [])
  },
}
