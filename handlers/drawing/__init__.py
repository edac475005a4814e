"""How reports are drawn: spreadsheets, charts and calendars, from the domain's plain data."""
