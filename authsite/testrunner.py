from django.test.runner import DiscoverRunner


class TestRunner(DiscoverRunner):
    pass
