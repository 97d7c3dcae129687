raise ImportError("libexample is not installed")
