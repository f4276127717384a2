"""The smallest Flask app, served beside the CRM by ``tests.benchmarks.cpu``: the
floor a request costs in this Python, this Flask and this gunicorn."""

from flask import Flask

app = Flask(__name__)


@app.get("/")
def hello():
    return "Hello"
