#!/usr/bin/env python3
"""Writes the import fixtures under Tests/ImporterTests/Fixtures the way the programs people use
write them: Excel's CSV on a Persian Windows (Windows-1256: Arabic yeh for Persian yeh, Latin
digits), Excel's "Unicode text" (UTF-16LE with a BOM, tab-separated), and an XLSX saved by
LibreOffice Calc from a sheet with real date and number cells. Run it once after changing a
fixture (LibreOffice must be installed: apt-get install libreoffice-calc-nogui)."""
import csv, io, os, shutil, subprocess, sys, tempfile

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "ImporterTests", "Fixtures")

CUSTOMERS = [
    ["نام", "موبایل", "ایمیل", "کارشناس", "نحوه آشنایی", "برچسب", "تاریخ ثبت", "نوع", "آدرس"],
    ["رضا رضایی", "9123456789", "reza@example.ir", "maryam", "اینستاگرام", "VIP،عمده", "1402/01/15", "حقیقی", "تهران، خیابان ولیعصر"],
    ["شرکت پارس‌پخش", "0912-111-2222", "info@pars.ir", "ali", "نمایشگاه", "", "1401/11/20", "حقوقی", "شیراز"],
    ["رضا رضائی", "+98 912 345 6789", "", "maryam", "", "", "", "", ""],
    ["", "0912 000 0000", "", "maryam", "", "", "", "", ""],
    ["علی کریمی", "0935 000 1111", "ali-at-example", "maryam", "", "", "", "", ""],
    ["مینا احمدی", "09351234567", "", "maryam", "", "", "1402/13/40", "", ""],
    ["آقای رضایی", "", "REZA@example.ir", "maryam", "", "", "", "", ""],
    ["نوا کریمی", "09121239876", "nava@example.ir", "ali", "وب‌سایت", "", "2023-05-01", "حقیقی", ""],
    ["نادر نادری", "09350001112", "", "nobody", "", "", "", "", ""],
    ["دفتر مرکزی کیان", "021-4444 5555", "", "ali", "معرفی", "", "1400/06/31", "حقوقی", "تهران"],
]

INTERACTIONS = [
    ["مشتری", "نوع", "تاریخ", "کارشناس", "جهت", "نتیجه", "شرح"],
    ["۰۹۱۲۳۴۵۶۷۸۹", "تماس", "۱۴۰۲/۰۲/۰۱ ۱۰:۳۰", "maryam", "ورودی", "interested", "قیمت چاپگر را پرسید"],
    ["۰۹۱۲-۱۱۱-۲۲۲۲", "جلسه", "۱۴۰۲/۰۲/۰۵", "ali", "", "order", "جلسه در دفتر مشتری"],
    ["09121239876", "یادداشت", "2023-06-01", "ali", "", "", "بودجه تا آخر خرداد"],
    ["+98 912 345 6789", "پیامک", "۱۴۰۲/۰۳/۱۰", "maryam", "خروجی", "", "یادآوری جلسه"],
    ["09129999999", "تماس", "۱۴۰۲/۰۳/۱۱", "maryam", "ورودی", "", "شماره ناشناس"],
    ["۰۹۱۲۳۴۵۶۷۸۹", "فکس", "۱۴۰۲/۰۳/۱۲", "maryam", "", "", ""],
]

INVOICES = [
    ["شماره فاکتور", "مشتری", "تاریخ", "کارشناس", "کالا", "تعداد", "فی", "پرداختی"],
    ["1001", "09123456789", "2023-06-10", "maryam", "چاپگر لیزری", "2", "250000000", "300000000"],
    ["1001", "09123456789", "2023-06-10", "maryam", "کارتریج", "4", "12500000", ""],
    ["1002", "09121112222", "2023-07-02", "ali", "کارتریج", "10", "12000000", "120000000"],
    ["1003", "09121239876", "2023-08-15", "ali", "چاپگر لیزری", "1", "260000000", "0"],
    ["1004", "09129999999", "2023-08-16", "ali", "کارتریج", "1", "12000000", ""],
]


def csv_text(rows, delimiter=","):
    out = io.StringIO()
    csv.writer(out, delimiter=delimiter, lineterminator="\r\n").writerows(rows)
    return out.getvalue()


def main():
    os.makedirs(HERE, exist_ok=True)
    # Excel's "CSV (Comma delimited)" on a Persian Windows: code page 1256, which has neither
    # Persian yeh nor Persian digits; Excel writes Arabic yeh (U+064A) instead.
    text = csv_text(CUSTOMERS).replace("ی", "ي")
    with open(os.path.join(HERE, "customers-excel-1256.csv"), "wb") as f:
        f.write(text.encode("cp1256"))
    # Excel's "Unicode Text": UTF-16LE with a BOM, cells separated by tabs.
    with open(os.path.join(HERE, "interactions-unicode-text.txt"), "wb") as f:
        f.write(b"\xff\xfe" + csv_text(INTERACTIONS, "\t").encode("utf-16-le"))
    # An XLSX saved by LibreOffice Calc: dates become date cells, amounts numbers.
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    if not soffice:
        sys.exit("LibreOffice is needed for the XLSX fixture: apt-get install libreoffice-calc-nogui")
    with tempfile.TemporaryDirectory() as work:
        source = os.path.join(work, "invoices.csv")
        with open(source, "w", encoding="utf-8") as f:
            f.write(csv_text(INVOICES))
        subprocess.run(
            [soffice, "--headless", "--infilter=CSV:44,34,76,1,,1033", "--convert-to", "xlsx", "--outdir", work, source],
            check=True, capture_output=True)
        shutil.copy(os.path.join(work, "invoices.xlsx"), os.path.join(HERE, "invoices-libreoffice.xlsx"))
    print("wrote", sorted(os.listdir(HERE)))


if __name__ == "__main__":
    main()
