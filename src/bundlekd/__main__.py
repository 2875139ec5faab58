from bundlekd.cli import app

app()
