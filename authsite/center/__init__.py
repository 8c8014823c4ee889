"""The pages that show several apps at once: the one place that imports both risk and factors."""
