-- mistral-lsp for Neovim: how results reach the user. One line goes through vim.notify; several
-- lines (the status, the `check` report) open a floating window at the cursor, like a hover, so
-- they neither fill the message area nor ask for "Press ENTER" with a one-line 'cmdheight'.

local M = {}

M.PREFIX = 'mistral-lsp: '
M.FOCUS_ID = 'mistral_lsp'

--- "1 finding", "2 findings".
---@param n any
---@param word string
---@return string
function M.plural(n, word)
  n = tonumber(n) or 0
  return ('%d %s%s'):format(n, word, n == 1 and '' or 's')
end

--- One line to the user, with the product's name once.
---@param msg string
---@param level? integer vim.log.levels
function M.notify(msg, level)
  vim.notify(M.PREFIX .. msg, level or vim.log.levels.INFO, { title = 'mistral-lsp' })
end

--- Several lines in a floating window titled `title` (closed by moving the cursor, like a hover;
--- run the command again to enter it). Returns the window, or nil if it could not be opened (the
--- lines then go to vim.notify).
---@param title string
---@param lines string[]
---@param level? integer vim.log.levels: WARN and ERROR colour the border
---@param syntax? string the float's filetype ('text' when nil; 'markdown' for an explanation)
---@return integer? winid
function M.float(title, lines, level, syntax)
  local border_hl = (level == vim.log.levels.ERROR and 'DiagnosticError')
    or (level == vim.log.levels.WARN and 'DiagnosticWarn')
    or 'FloatBorder'
  local ok, _, win = pcall(vim.lsp.util.open_floating_preview, lines, syntax or 'text', {
    border = 'rounded',
    title = ' ' .. title .. ' ',
    title_pos = 'center',
    focus_id = M.FOCUS_ID,
    max_width = math.max(40, math.floor(vim.o.columns * 0.8)),
    wrap = true,
  })
  if not ok or not win then
    M.notify(title .. '\n' .. table.concat(lines, '\n'), level)
    return nil
  end
  vim.wo[win].winhighlight = 'FloatBorder:' .. border_hl
  vim.w[win].mistral_lsp = title
  return win
end

--- The lines of the mistral-lsp float that is open now (tests, and `:lua` users), else nil.
---@return string[]?
function M.open_float_lines()
  for _, win in ipairs(vim.api.nvim_list_wins()) do
    if vim.w[win].mistral_lsp then
      return vim.api.nvim_buf_get_lines(vim.api.nvim_win_get_buf(win), 0, -1, false)
    end
  end
  return nil
end

return M
