from django.contrib.auth.hashers import MD5PasswordHasher


class ExplodingHasher(MD5PasswordHasher):
    """A hasher that fails the test if anything tries to hash or verify with it."""

    algorithm = "exploding"

    def encode(self, password, salt):
        raise AssertionError("the password reached the hasher")

    def verify(self, password, encoded):
        raise AssertionError("the password reached the hasher")


class CountingHasher(MD5PasswordHasher):
    """MD5 that counts hash computations (verify() computes one through encode())."""

    calls = 0

    def encode(self, password, salt):
        type(self).calls += 1
        return super().encode(password, salt)
