"""ctseds: PowerSchool extracts to the CT-SEDS Student Contacts file."""

__version__ = "0.1.0"
