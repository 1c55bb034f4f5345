"""The test suite is a package (as is every folder in it), so same-named test modules in two folders never clash."""
