class MaximumLengthValidator:
    def __init__(self, max_length=1024):
        self.max_length = max_length

    def validate(self, password, user=None):
        pass

    def get_help_text(self):
        return ""
