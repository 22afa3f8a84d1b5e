"""Reference for examples/suite/medium/csv-line.md."""


def parse_line(line: str) -> list[str]:
    fields: list[str] = []
    i = 0
    while True:
        if i < len(line) and line[i] == '"':
            value = []
            i += 1
            while True:
                if i >= len(line):
                    raise ValueError("a quoted field is not closed")
                if line[i] == '"':
                    if i + 1 < len(line) and line[i + 1] == '"':
                        value.append('"')
                        i += 2
                        continue
                    i += 1
                    break
                value.append(line[i])
                i += 1
            end = line.find(",", i)
            end = len(line) if end < 0 else end
            fields.append("".join(value) + line[i:end])
        else:
            end = line.find(",", i)
            end = len(line) if end < 0 else end
            fields.append(line[i:end])
        if end >= len(line):
            return fields
        i = end + 1


def format_line(fields: list[str]) -> str:
    out = []
    for field in fields:
        if "," in field or '"' in field:
            field = '"' + field.replace('"', '""') + '"'
        out.append(field)
    return ",".join(out)
