"""Plots that show on a Dagster asset page without a click.

Dagster 1.13 has no image metadata type, and a Markdown metadata value of 1,000 characters
or more (any base64 PNG) shows only as "[Show Markdown]". The column descriptions of the
`dagster/column_schema` entry are rendered as Markdown, images included, in the "Columns"
section of the asset's overview page; measured with screenshots in
docs/decisions/0007-plots-in-the-dagster-ui.md. So each plot becomes one "column" whose
description is the picture. A description box is cut at 320 px behind a "Show more" button.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from pathlib import Path

import dagster as dg

PLOT_TYPE = "png plot"
COLUMN_SCHEMA = "dagster/column_schema"  # TableMetadataSet's key; that class is not exported by dagster 1.13


def png_data_uri(png: bytes) -> str:
    """The PNG inline, for Markdown that must not depend on any file server."""
    return f"data:image/png;base64,{base64.b64encode(png).decode('ascii')}"


def markdown_image(name: str, png: bytes) -> str:
    """`![stem](data:...)`: the alt text is the file stem (`roc.png` -> roc)."""
    return f"![{Path(name).stem}]({png_data_uri(png)})"


def plot_columns(plots: Mapping[str, bytes]) -> dict[str, dg.TableSchema]:
    """The `dagster/column_schema` metadata entry that shows ``plots`` (file name -> PNG) on the asset page."""
    columns = [dg.TableColumn(Path(name).stem, PLOT_TYPE, description=markdown_image(name, png)) for name, png in plots.items()]
    return {COLUMN_SCHEMA: dg.TableSchema(columns=columns)}
