"""Files the site publishes beside its pages, made from the results at build time."""
import json
import pathlib

from lib.results import GENERATED_DIR, SNIPPETS_DIR, snippet_names


def publish_for_notebook(data, out_dir=GENERATED_DIR):
    """Copies of the snippets and an index of the results, so that the notebook page can
    fetch both from the published site when it runs outside a clone of the repository."""
    from charts.style import write_bytes, write_text  # write only what changed (serve)
    out_dir = pathlib.Path(out_dir)
    files = [write_bytes(out_dir / "snippets" / f"{n}.py", (SNIPPETS_DIR / f"{n}.py").read_bytes())
             for n in snippet_names()]
    index = {"snippets": snippet_names(),
             "results": sorted(f"results/{slug}/{snippet}.json" for slug, snippet in data)}
    files.append(write_text(out_dir / "results-index.json", json.dumps(index, indent=2) + "\n"))
    return files


