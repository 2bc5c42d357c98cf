"""The minimum crowd on the live stream.

The stream sends two kinds of things:

- events: the stored events of the site, one by one, masked as stored (the same data
  a session's detail shows). An event with a pointer position is also a dot on the
  live heatmap, that is a push to one heatmap cell: its ``x``, ``y`` and
  ``scroll_y`` are sent only once at least k distinct sessions have been seen in
  that cell (page, interaction, grid column and row) by this process; before that
  the event goes out without them (:attr:`LiveEvent.coarse_message`).
- summaries: active visitors, active sessions and events per second of the whole
  site. While fewer than k sessions are active these figures are aggregates of
  fewer than k people: they are sent as 0, with ``"suppressed": true``.

The process counts only what it saw since it started following the site, never more
than the truth, so a cell or summary is shown no earlier than k sessions allow.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Final

from api.query.heatmap_cells import DEFAULT_CELL_HEIGHT_PX, GRID_COLUMNS

# Cells followed per site at most (the oldest is forgotten first): a bound on memory.
MAX_CELLS: Final = 100_000
MAX_GRID_Y: Final = 65_535

LiveCell = tuple[str, str, int, int]


def live_cell(
    url_path: str,
    event_type: str,
    fixed: bool,
    x: float,
    y: float,
    viewport_width: int,
    cell_height_px: int = DEFAULT_CELL_HEIGHT_PX,
) -> LiveCell:
    """The heatmap cell of a pointer event, on the pipeline's grid."""
    grid_x = min(GRID_COLUMNS - 1, int(GRID_COLUMNS * x // viewport_width)) if viewport_width else 0
    grid_y = min(MAX_GRID_Y, max(0, int(y // cell_height_px)))
    kind = event_type + ("_fixed" if fixed else "")
    return (url_path, kind, max(0, grid_x), grid_y)


class CellCrowds:
    """The distinct sessions seen per live cell of one site, until a cell reaches k."""

    def __init__(self, min_crowd: int, max_cells: int = MAX_CELLS) -> None:
        self.min_crowd = min_crowd
        self._max_cells = max_cells
        self._pending: OrderedDict[LiveCell, set[str]] = OrderedDict()
        self._reached: set[LiveCell] = set()

    def see(self, cell: LiveCell, session_id: str) -> bool:
        """Count the session in the cell; True when the cell has k sessions or more."""
        if self.min_crowd <= 1 or cell in self._reached:
            return True
        sessions = self._pending.get(cell)
        if sessions is None:
            sessions = self._pending[cell] = set()
            while len(self._pending) + len(self._reached) > self._max_cells and self._pending:
                self._pending.popitem(last=False)
        sessions.add(session_id)
        if len(sessions) >= self.min_crowd:
            del self._pending[cell]
            self._reached.add(cell)
            return True
        return False
