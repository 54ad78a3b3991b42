# The reference answers, unchanged: a classmate in the same class folder, whom no attack may touch.
