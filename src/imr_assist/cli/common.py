"""Pieces shared by the CLI modules: the `--home` option and library-error translation."""

from __future__ import annotations

import sys
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Any, TypeVar

import click

from imr_assist.errors import ImrAssistError

F = TypeVar("F", bound=Callable[..., Any])

home_option = click.option(
    "--home",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Data directory (index, manifest). Default: $IMR_HOME or ./.imr-assist",
)


def errors(fn: F) -> F:
    """Turn library errors into click errors (a message and exit code 1, no traceback)."""

    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except ImrAssistError as exc:
            raise click.ClickException(str(exc)) from exc

    return wrapper  # type: ignore[return-value]


def progress_bars(unit: str, min_total: int = 0) -> Callable[[str, int, int], None]:
    """A tqdm bar per name on stderr: (name, done, total)."""
    from tqdm import tqdm

    bars: dict[str, Any] = {}

    def update(name: str, done: int, total: int) -> None:
        bar = bars.get(name)
        if bar is None:
            bar = bars[name] = tqdm(
                total=total,
                desc=name[:30],
                unit=unit,
                leave=False,
                disable=total < min_total,
                file=sys.stderr,
            )
        bar.total = total
        bar.n = done
        bar.refresh()
        if done >= total:
            bar.close()

    return update
