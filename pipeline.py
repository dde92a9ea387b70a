#!/usr/bin/env python3
"""Patient handout print pipeline: the one command-line entry point.

A thin Click layer: each command parses options, calls one function in the
`clinicprint` package, and turns its result into output and an exit code.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from clinicprint.errors import PipelineError

ROOT = Path(__file__).resolve().parent


def _root(ctx: click.Context) -> Path:
    return ctx.obj["root"]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--project", "project", type=click.Path(file_okay=False, path_type=Path),
              default=ROOT, show_default="the folder of pipeline.py",
              help="Project folder holding handouts/, templates/, styles/ and variants.yaml.")
@click.pass_context
def cli(ctx: click.Context, project: Path) -> None:
    """Turn reviewed handout content into branded, print-ready PDFs."""
    ctx.obj = {"root": project.resolve()}


@cli.command()
@click.option("--handout", "handouts", multiple=True, metavar="NAME",
              help="Build only this handout (repeatable).")
@click.option("--variant", "variants", multiple=True, metavar="NAME",
              help="Build only this audience variant (repeatable).")
@click.option("--profile", "profiles", multiple=True, metavar="NAME",
              help="Build only for this print profile (repeatable): press, office, "
                   "office-a4, screen.")
@click.option("--pdfx", type=click.Choice(["x-4", "x-1a"]), default="x-4", show_default=True,
              help="PDF/X version of press PDFs; choose x-1a only if the print shop asks.")
@click.option("-o", "--output", type=click.Path(file_okay=False, path_type=Path),
              default=None, help="Output folder.  [default: output/ in the project]")
@click.pass_context
def build(ctx: click.Context, handouts: tuple[str, ...], variants: tuple[str, ...],
          profiles: tuple[str, ...], pdfx: str, output: Path | None) -> None:
    """Render every handout x variant x profile to output/<profile>/<handout>/<variant>.pdf.

    Each handout is built in the profiles it is made in (see `list`)."""
    from clinicprint.build import build as run_build

    root = _root(ctx)
    output = (output or root / "output").resolve()

    def report(document, error):
        mark = click.style("FAIL", fg="red") if error else click.style("ok", fg="green")
        click.echo(f"{mark:>4}  {document.relative_path}", err=bool(error))

    result = run_build(root, output, handouts, variants, profiles, pdfx, report=report)
    for warning in result.warnings:
        click.echo(f"Warning: {warning}", err=True)
    click.echo(f"{len(result.built)} built, {len(result.failures)} failed -> {output}")
    if result.failures:
        raise PipelineError("\n".join(result.failures))


@cli.command("list")
@click.pass_context
def list_(ctx: click.Context) -> None:
    """Show the handouts, variants and profiles that can be built."""
    from clinicprint.build import plan
    from clinicprint.content import load_project
    from clinicprint.layouts import PROFILES

    project = load_project(_root(ctx))
    click.echo("Handouts:")
    for handout in project.handouts.values():
        click.echo(f"  {handout.id:<28} {handout.kind:<10} {handout.document_code}")
        click.echo(f"  {'':<28} variants: {', '.join(handout.variants)}")
        click.echo(f"  {'':<28} profiles: {', '.join(handout.profiles)}")
    click.echo("Variants:")
    for variant in project.variants.values():
        click.echo(f"  {variant.name:<28} {variant.label}")
    click.echo("Profiles:")
    for profile in PROFILES.values():
        click.echo(f"  {profile.name:<28} {profile.description}")
    click.echo(f"{len(plan(project))} documents in all.")


def main() -> None:
    try:
        cli(prog_name="pipeline.py", standalone_mode=False)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except click.exceptions.Abort:
        click.echo("Interrupted.", err=True)
        sys.exit(130)
    except OSError as exc:
        # A full disk or a read-only folder: say which file, not a traceback.
        where = exc.filename or "output"
        click.echo(f"Error: {where}: {exc.strerror or exc}; check the folder and try again",
                   err=True)
        sys.exit(1)


if __name__ == "__main__":
    main()
