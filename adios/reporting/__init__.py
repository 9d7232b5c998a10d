"""From records to what people read: tables and statistics, report.md, figures and mask galleries."""
