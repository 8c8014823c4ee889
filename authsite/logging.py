import logging


class JsonFormatter(logging.Formatter):
    pass
