"""The centre's web site (Django): district staff, units and technicians."""
