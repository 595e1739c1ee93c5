"""Pieces shared by the CLI modules: the `--home` option, library-error translation, progress."""

from __future__ import annotations

import sys
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Any, TypeVar

import click

from imr_assist.errors import ImrAssistError
from imr_assist.ingest.progress import JobProgress

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


def job_bar() -> Callable[[JobProgress], None]:
    """One bar on stderr for a whole ingest job, its step named ('File 2 of 5 · Parsing
    guideline.pdf: page 40 of 141'); shown only when stderr is a terminal."""
    from tqdm import tqdm

    steps = 1000
    bar: Any = None

    def update(event: JobProgress) -> None:
        nonlocal bar
        if bar is None:
            bar = tqdm(
                total=steps,
                file=sys.stderr,
                leave=False,
                disable=None,  # None: off when stderr is not a terminal (pipes, CI logs)
                bar_format="{desc} |{bar}| {percentage:3.0f}% {elapsed}",
            )
        bar.n = round(event.fraction * steps)
        bar.set_description_str(event.describe()[:70], refresh=False)
        bar.refresh()
        if event.step == "done":
            bar.close()

    return update
