"""``systeminfo`` output (default list and ``/fo csv``), Windows 2003 … 2025, any language.

The list is ``Label:<spaces>value`` lines; multi-valued items (processors, hotfixes, network
cards) continue on indented lines, which are kept as lists. Labels are localized: known
labels (en, de, fr, es, ru, it, pt, nl, pl) map to field names, and since the order of the
top-level labels is the same in every language, an unknown label takes the field of its
position, checked against the value's shape (``OS Version`` looks like ``6.1.7601 …``,
``Time Zone`` like ``(UTC-08:00) …``).

One row per output (``kind="systeminfo"``, ``event_type="sysinfo:host"``, ``time`` NaT,
``host`` = Host Name, ``locator`` = line of the first label); ``data``: ``os_name``,
``os_version`` (``6.1.7601``), ``build`` (int), ``service_pack`` (int or None),
``os_version_original``, ``boot_time`` (as printed, local time; 2003 prints ``System Up
Time`` instead → ``uptime``), ``time_zone``, ``system_type``, ``domain``, ``logon_server``,
``os_configuration``, ``install_date``, ``hotfixes`` (list), ``labels`` (original label →
value for everything). ``ParseResult.meta`` carries ``host``, ``os_name``, ``os_version``,
``build``, ``service_pack``, ``time_zone``, ``boot_time``.
"""
from __future__ import annotations

import csv
import io
import re
from pathlib import Path
from typing import Any

from . import text as T
from .base import ParseOptions, ParseResult, ParserInfo, data_json, result_from_rows, warn

INFO = ParserInfo(name="systeminfo", kind="systeminfo", text=True,
                  description="Windows systeminfo (list and /fo csv), any language",
                  sniffs="'Host Name:'-style label lines (en/de/fr/es/ru/...) or a label "
                         "list whose third value is an OS version")

#: Top-level fields in the order systeminfo prints them (all versions, all languages).
ORDER = ("host", "os_name", "os_version", "os_manufacturer", "os_configuration",
         "os_build_type", "registered_owner", "registered_organization", "product_id",
         "install_date", "boot_time", "system_manufacturer", "system_model", "system_type",
         "processors", "bios_version", "windows_directory", "system_directory", "boot_device",
         "system_locale", "input_locale", "time_zone", "total_memory", "available_memory",
         "virtual_memory_max", "virtual_memory_available", "virtual_memory_in_use",
         "page_file", "domain", "logon_server", "hotfixes", "network_cards")

LABELS: dict[str, str] = {}
for _field, _names in {
    "host": ["Host Name", "Hostname", "Nom de l'hôte", "Nom de l’hôte", "Nombre de host",
             "Имя узла", "Nome host", "Nome do host", "Hostnaam", "Nazwa hosta", "主机名",
             "ホスト名", "호스트 이름"],
    "os_name": ["OS Name", "Betriebssystemname", "Nom du système d'exploitation",
                "Nom du système d’exploitation", "Nombre del sistema operativo", "Название ОС",
                "Nome SO", "Nome do sistema operacional", "Naam besturingssysteem",
                "Nazwa systemu operacyjnego", "OS 名称", "OS 名", "OS 이름"],
    "os_version": ["OS Version", "Betriebssystemversion", "Version du système",
                   "Versión del sistema operativo", "Версия ОС", "Versione SO",
                   "Versão do sistema operacional", "Versie besturingssysteem",
                   "Wersja systemu operacyjnego", "OS 版本", "OS バージョン", "OS 버전"],
    "os_manufacturer": ["OS Manufacturer", "Betriebssystemhersteller",
                        "Fabricant du système d'exploitation", "Fabricant du système d’exploitation",
                        "Fabricante del sistema operativo", "Изготовитель ОС"],
    "os_configuration": ["OS Configuration", "Betriebssystemkonfiguration",
                         "Configuration du système d'exploitation",
                         "Configuration du système d’exploitation",
                         "Configuración del sistema operativo", "Параметры ОС"],
    "os_build_type": ["OS Build Type", "Betriebssystem-Buildtyp",
                      "Type de version du système d'exploitation",
                      "Type de version du système d’exploitation",
                      "Tipo de compilación del sistema operativo", "Сборка ОС"],
    "registered_owner": ["Registered Owner", "Registrierter Benutzer", "Propriétaire enregistré",
                         "Propiedad de", "Зарегистрированный владелец"],
    "registered_organization": ["Registered Organization", "Registrierte Organisation",
                                "Organisation enregistrée", "Organización registrada",
                                "Зарегистрированная организация"],
    "product_id": ["Product ID", "Produkt-ID", "Identificateur de produit", "Id. del producto",
                   "Код продукта"],
    "install_date": ["Original Install Date", "Ursprüngliches Installationsdatum",
                     "Date d'installation originale", "Date d’installation originale",
                     "Fecha de instalación original", "Дата установки"],
    "boot_time": ["System Boot Time", "Systemstartzeit", "Heure de démarrage du système",
                  "Tiempo de arranque del sistema", "Время загрузки системы",
                  "Ora di avvio sistema", "Tempo de Inicialização do Sistema",
                  "Systeemopstarttijd", "Czas rozruchu systemu", "系统启动时间",
                  "システム起動時間", "시스템 부트 시간"],
    "uptime": ["System Up Time", "Systembetriebszeit", "Temps de fonctionnement du système",
               "Tiempo de actividad del sistema", "Время работы системы"],
    "system_manufacturer": ["System Manufacturer", "Systemhersteller", "Fabricant du système",
                            "Fabricante del sistema", "Изготовитель системы"],
    "system_model": ["System Model", "Systemmodell", "Modèle du système", "Modelo el sistema",
                     "Modelo del sistema", "Модель системы"],
    "system_type": ["System Type", "Systemtyp", "Type du système", "Tipo de sistema",
                    "Тип системы"],
    "processors": ["Processor(s)", "Prozessor(en)", "Processeur(s)", "Procesador(es)",
                   "Процессор(ы)"],
    "bios_version": ["BIOS Version", "BIOS-Version", "Version du BIOS", "Versión del BIOS",
                     "Версия BIOS"],
    "windows_directory": ["Windows Directory", "Windows-Verzeichnis", "Répertoire Windows",
                          "Directorio de Windows", "Папка Windows"],
    "system_directory": ["System Directory", "System-Verzeichnis", "Répertoire système",
                         "Directorio de sistema", "Системная папка"],
    "boot_device": ["Boot Device", "Startgerät", "Périphérique d'amorçage",
                    "Périphérique d’amorçage", "Dispositivo de arranque", "Устройство загрузки"],
    "system_locale": ["System Locale", "Systemgebietsschema", "Option régionale du système",
                      "Configuración regional del sistema", "Язык системы"],
    "input_locale": ["Input Locale", "Eingabegebietsschema", "Paramètres régionaux d'entrée",
                     "Paramètres régionaux d’entrée", "Idioma de entrada", "Язык ввода"],
    "time_zone": ["Time Zone", "Zeitzone", "Fuseau horaire", "Zona horaria", "Часовой пояс",
                  "Fuso orario", "Fuso horário", "Tijdzone", "Strefa czasowa", "时区",
                  "タイム ゾーン", "표준 시간대"],
    "total_memory": ["Total Physical Memory", "Gesamter physischer Speicher",
                     "Mémoire physique totale", "Cantidad total de memoria física",
                     "Полный объем физической памяти"],
    "available_memory": ["Available Physical Memory", "Verfügbarer physischer Speicher",
                         "Mémoire physique disponible", "Memoria física disponible",
                         "Доступная физическая память"],
    "page_file": ["Page File Location(s)", "Auslagerungsdateipfad(e)",
                  "Emplacements des fichiers d'échange", "Emplacements des fichiers d’échange",
                  "Ubicación(es) de archivo de paginación", "Расположение файла подкачки"],
    "domain": ["Domain", "Domäne", "Domaine", "Dominio", "Домен", "Domínio", "Domein", "Domena",
               "域", "ドメイン", "도메인"],
    "logon_server": ["Logon Server", "Anmeldeserver", "Serveur d'ouverture de session",
                     "Serveur d’ouverture de session", "Servidor de inicio de sesión",
                     "Сервер входа в сеть"],
    "hotfixes": ["Hotfix(s)", "Hotfix(es)", "Correctif(s)", "Revisión(es)", "Исправление(я)"],
    "network_cards": ["Network Card(s)", "Netzwerkkarte(n)", "Carte(s) réseau",
                      "Tarjeta(s) de red", "Сетевые адаптеры", "Сетевая карта(ы)"],
}.items():
    for _n in _names:
        LABELS[_n.casefold()] = _field

#: ``Label:   value`` or ``Label:`` (a list follows). Possessive blanks (``\s++``): with a
#: lazy value before ``\s*$`` a line of 65,000 blanks took 45 s to reject (found by review).
_LINE = re.compile(r"^(?P<label>\S[^:]{0,60}?):(?:\s++(?P<value>.*\S))?\s*$")
_VERSION = re.compile(r"(?P<ver>\d+\.\d+\.\d+)")
_SP = re.compile(r"Service Pack\s+(?P<sp>\d+)", re.IGNORECASE)
_TZ = re.compile(r"^\((UTC|GMT)[^)]*\)")


def _label_field(label: str) -> str | None:
    f = LABELS.get(label.strip().casefold())
    if f:
        return f
    # "Virtual Memory: Max Size" has a colon inside the label
    return None


def _items(lines: list[str], line_offset: int) -> list[tuple[int, str, str, list[str]]]:
    """(line number, label, value, continuation values) of the top-level label lines."""
    items: list[tuple[int, str, str, list[str]]] = []
    for k, ln in enumerate(lines):
        if not ln.strip():
            continue
        if not ln[:1].isspace():
            m = _LINE.match(ln)
            if m:
                label = m.group("label")
                value = m.group("value") or ""
                # "Virtual Memory: Max Size:  8,189 MB" → label with the colon kept
                m2 = re.match(r"^([^:]+):\s{1,2}(\S[^:]{0,30}):\s+(.*)$", ln)
                if m2 and _label_field(label) is None and not _VERSION.match(value):
                    label, value = f"{m2.group(1)}: {m2.group(2)}", m2.group(3).strip()
                items.append((k + 1 + line_offset, label.strip(), value, []))
                continue
        if items and ln[:1].isspace():
            items[-1][3].append(ln.strip())
    return items


def _assign(items: list[tuple[int, str, str, list[str]]]) -> dict[str, tuple[str, list[str]]]:
    fields: dict[str, tuple[str, list[str]]] = {}
    for pos, (_, label, value, cont) in enumerate(items):
        f = _label_field(label)
        if f is None and pos < len(ORDER):
            guess = ORDER[pos]
            ok = {"os_version": bool(_VERSION.match(value)), "time_zone": bool(_TZ.match(value)),
                  "os_name": "windows" in value.casefold()}.get(guess, guess not in fields)
            if ok and guess not in fields:
                f = guess
        if f is None:
            if _TZ.match(value) and "time_zone" not in fields:
                f = "time_zone"
            else:
                continue
        fields.setdefault(f, (value, cont))
    return fields


def _record(items, source: str, warnings: list) -> tuple[dict[str, Any], dict[str, Any]] | None:
    fields = _assign(items)
    if "host" not in fields and "os_name" not in fields:
        return None
    get = lambda k: T.na(fields[k][0]) if k in fields else None  # noqa: E731
    host = get("host")
    ver_orig = get("os_version")
    ver = build = sp = None
    if ver_orig:
        m = _VERSION.search(ver_orig)
        if m:
            ver = m.group("ver")
            build = int(ver.split(".")[2])
            nums = re.findall(r"\d+", ver_orig[m.end():])
            if nums:
                build = int(nums[-1])
        m = _SP.search(ver_orig)
        sp = int(m.group("sp")) if m else None
    hotfixes, hotfix_count = [], None
    if "hotfixes" in fields:
        hotfixes = [re.sub(r"^\[\d+\]:\s*", "", h) for h in fields["hotfixes"][1]]
        hotfixes = [h for h in hotfixes if h]
        # "0 Hotfix(s) Installed.": a list known to be empty, not a list cut off
        m = re.match(r"\s*(\d+)\b", str(fields["hotfixes"][0] or ""))
        hotfix_count = int(m.group(1)) if m else None
    data: dict[str, Any] = {
        "os_name": get("os_name"), "os_version": ver, "os_version_original": ver_orig,
        "build": build, "service_pack": sp, "boot_time": get("boot_time"),
        "uptime": get("uptime"), "time_zone": get("time_zone"), "system_type": get("system_type"),
        "domain": get("domain"), "logon_server": get("logon_server"),
        "os_configuration": get("os_configuration"), "install_date": get("install_date"),
        "system_model": get("system_model"), "hotfixes": hotfixes, "hotfix_count": hotfix_count,
        "system_locale": get("system_locale"),
        "labels": {label: value for _, label, value, _ in items},
    }
    row = {"kind": "systeminfo", "event_type": "sysinfo:host", "host": host,
           "locator": f"line {items[0][0]}", "data": data_json(data),
           "message": " ".join(x for x in (host, data["os_name"], ver_orig) if x)}
    meta = {"host": host, "os_name": data["os_name"], "os_version": ver, "build": build,
            "service_pack": sp, "time_zone": data["time_zone"], "boot_time": data["boot_time"],
            "uptime": data["uptime"]}
    return row, meta


def _csv_items(lines: list[str], line_offset: int, source: str = "",
               warnings: list | None = None) -> list[list[tuple[int, str, str, list[str]]]]:
    recs = []
    quoted = [(k, ln) for k, ln in enumerate(lines) if ln.strip().startswith('"')]
    if len(quoted) < 2:
        return []
    try:
        parsed = [(k, next(csv.reader(io.StringIO(ln)))) for k, ln in quoted]
    except (csv.Error, StopIteration):
        return []
    header = None
    for k, rec in parsed:
        # a header starts with the Host Name label: a second output's may be wider (2016
        # added "Hyper-V Requirements")
        if header is None or _label_field(rec[0]) == "host":
            header = rec
            continue
        if len(rec) != len(header):
            if warnings is not None:
                warn(warnings, source, k + 1 + line_offset,
                     f"systeminfo CSV record with {len(rec)} fields under a header of "
                     f"{len(header)} skipped (truncated?)")
            continue
        items = []
        for lab, val in zip(header, rec):
            if re.search(r",\[\d+\]:", val):  # "2 Hotfix(s) Installed.,[01]: KB…,[02]: …"
                parts = val.split(",")
                items.append((k + 1 + line_offset, lab, parts[0].strip(),
                              [p.strip() for p in parts[1:]]))
            else:
                items.append((k + 1 + line_offset, lab, val, []))
        recs.append(items)
    return recs


def sniff_text(text: str) -> bool:
    lines = T.split_lines(text)[:120]
    items = _items(lines, 0)
    known = sum(1 for _, lab, _, _ in items if _label_field(lab))
    if known >= 3:
        return True
    if len(items) >= 3 and _VERSION.match(items[2][2]) and "windows" in items[1][2].casefold():
        return True
    first = next((ln for ln in lines if ln.strip() and not ln.startswith("#")), "")
    if first.startswith('"'):
        try:
            hdr = next(csv.reader(io.StringIO(first)))
        except (csv.Error, StopIteration):
            return False
        return sum(1 for h in hdr if _label_field(h)) >= 3
    return False


def block_spans(lines: list[str]) -> list[tuple[int, int]]:
    spans = []
    i, n = 0, len(lines)
    while i < n:
        m = _LINE.match(lines[i])
        if m and _label_field(m.group("label") or "") == "host":
            j = i + 1
            last = i
            while j < n:
                ln = lines[j]
                if not ln.strip():
                    if j - last > 1:
                        break
                elif _LINE.match(ln) or ln[:1].isspace() or re.match(r"^[^:]+:\s{1,2}\S", ln):
                    last = j
                else:
                    break
                j += 1
            if last - i >= 2:
                spans.append((i, last + 1))
            i = last + 1
            continue
        i += 1
    return spans


def parse_text(text: str, source: str, options: ParseOptions | None = None,
               line_offset: int = 0) -> ParseResult:
    lines = T.split_lines(text)
    warnings: list = []
    rows, metas = [], []
    groups: list[list] = _csv_items(lines, line_offset, source, warnings)
    fmt = "csv" if groups else "list"
    if not groups:
        # several outputs in one text: a new group starts at each Host Name label
        cur: list = []
        for it in _items(lines, line_offset):
            if _label_field(it[1]) == "host" and cur:
                groups.append(cur)
                cur = []
            cur.append(it)
        if cur:
            groups.append(cur)
    for items in groups:
        rec = _record(items, source, warnings)
        if rec is None:
            warn(warnings, source, items[0][0], "label lines without host name or OS name skipped")
            continue
        rows.append(rec[0])
        metas.append(rec[1])
    if not rows and any(ln.strip() for ln in lines):
        warn(warnings, source, line_offset + 1, "no systeminfo output recognised")
    meta = {k: v for k, v in (metas[0] if metas else {}).items() if v is not None}
    return result_from_rows(rows, parser="systeminfo", warnings=warnings, stats={"format": fmt},
                            meta=meta)


def sniff(head: bytes, name: str = "") -> bool:
    return T.sniff_head(head, sniff_text)


def parse(path: Path, options: ParseOptions | None = None) -> ParseResult:
    return T.parse_file(path, options, parse_text, kind="systeminfo")


def boot_time_utc(data: dict):
    """``System Boot Time`` of a ``sysinfo:host`` row's data in UTC, or None. It is local
    time in the system locale's date order: a number above 12 decides it, else the locale
    (``en-us``: month first; others: day first); the zone comes from ``Time Zone``."""
    import pandas as pd

    from .eventcsv import _DT, _to_naive, resolve_tz

    text, tz = data.get("boot_time"), data.get("time_zone")
    if not text or not tz:
        return None
    m = _DT.match(str(text).replace(",", " "))
    zone, _ = resolve_tz(tz)
    if m is None or zone is None:
        return None
    a, b = int(m.group("a")), int(m.group("b"))
    locale = str(data.get("system_locale") or "").lower()
    order = ("dmy" if a > 12 else "mdy" if b > 12 else
             "mdy" if locale.startswith("en-us") or not locale else "dmy")
    naive = _to_naive(m, order)
    if naive is None:
        return None
    try:
        return pd.Timestamp(naive).tz_localize(zone, ambiguous=False,
                                               nonexistent="shift_forward").tz_convert("UTC")
    except (ValueError, TypeError):
        return None
