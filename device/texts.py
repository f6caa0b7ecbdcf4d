"""What the gate's screen says, in Vietnamese and English."""

from __future__ import annotations

TEXTS = {
    "vi": {
        "hello": "Xin chào:",
        "in": "CHECK-IN",
        "out": "CHECK-OUT",
        "repeat_in": "Đã check-in lúc {t}",
        "repeat_out": "Đã check-out lúc {t}",
        "rejected": "TỪ CHỐI",
        "dir_in": "VÀO",
        "dir_out": "RA",
        "dir_auto": "VÀO/RA",
        "online": "Mạng: có",
        "offline": "Mạng: mất",
        "local": "Mạng: —",
        "queue": "Chờ gửi: {n}",
        "scan": "Quét mã QR",
        "expired": "Tờ khai đã hết hạn",
        "bad_signature": "Chữ ký không hợp lệ",
        "unknown_key": "Khóa ký không xác định",
        "revoked_key": "Khóa ký đã bị thu hồi",
        "not_yet_valid": "Mã chưa có hiệu lực",
        "deleted_declaration": "Tờ khai đã bị xoá",
        "malformed_token": "Mã QR bị hỏng",
        "not_a_declaration": "Không phải mã khai báo y tế",
        "invalid_cccd": "Không đọc được CCCD",
        "cccd_not_accepted": "Không nhận CCCD tại đây",
        "storage_error": "Lỗi lưu trữ, báo kỹ thuật",
        "hint": "Vui lòng khai báo lại",
    },
    "en": {
        "hello": "Hello:",
        "in": "CHECK-IN",
        "out": "CHECK-OUT",
        "repeat_in": "Already checked in at {t}",
        "repeat_out": "Already checked out at {t}",
        "rejected": "REJECTED",
        "dir_in": "IN",
        "dir_out": "OUT",
        "dir_auto": "IN/OUT",
        "online": "Online",
        "offline": "Offline",
        "local": "Local only",
        "queue": "Queued: {n}",
        "scan": "Scan your QR",
        "expired": "Declaration expired",
        "bad_signature": "Invalid signature",
        "unknown_key": "Unknown signing key",
        "revoked_key": "Revoked signing key",
        "not_yet_valid": "Code not yet valid",
        "deleted_declaration": "Declaration deleted",
        "malformed_token": "Damaged QR code",
        "not_a_declaration": "Not a declaration code",
        "invalid_cccd": "Unreadable ID card",
        "cccd_not_accepted": "ID cards not accepted here",
        "storage_error": "Storage error, call support",
        "hint": "Please declare again",
    },
}


def text(lang: str, key: str, **kw) -> str:
    table = TEXTS.get(lang, TEXTS["vi"])
    return table.get(key, key).format(**kw)
