"""How reports are drawn: spreadsheets, charts and calendars, from the domain's plain data.

Charts render on matplotlib's Agg backend, chosen here before anything of matplotlib draws;
they are built as Figure objects, never through pyplot's global state.
"""

import matplotlib

matplotlib.use("Agg")
