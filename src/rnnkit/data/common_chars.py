"""The commonest characters of Chinese (simplified and traditional forms) and Korean text, and kana.

:func:`rnnkit.data.encodings.guess_encodings` breaks a tie between East Asian readings of a file's bytes
with them: two GBK characters decode as Big5 and as Hangul too (你好 -> 斕疑, 콱봤), and the reading made of
frequent characters is the likely one.  A hand-made list of everyday characters, not a measured table.
"""
from __future__ import annotations

from rnnkit.data.scripts import is_kana

FREQUENT = set(
    "的一是不了人我在有他这中大来上个国到说们为子和你地出道也时年得就那要下以生会自着去之过家学对可她里后小么心"
    "多天而能好都然没日于起还发成事只作当想看文无开手十用主行方又如前所本见经头面公同三已老从动两长知民样现分将"
    "外但身些与高意进把法此实回二理美点月明其种声全工己话儿者向情部正名定女问力机给等几很业最间新什打便位因重被"
    "走电四第门相次东政海口使教西再平真听世气信北少关并内加化由却代军产入先山五太水万市眼体别处总才场师书比住员"
    "九笑性通目华报立马命张活难神数件安表原车白应路期叫死常提感金何更反合放做系计或司利受光王果亲界及今京务制解"
    "各任至清物台象记边共风战干接它许八特觉望直服毛林题建南度统色字请交爱让认算论百吃义科怎元社术结六功指思非流"
    "每青管夫连远资队跟带花快条院变联言权往展该领传近留红治决周保达办运武半候七必城父强步完革深区即求品士转量空"
    "谢這們說國來時為會對個發過還進學經動現兩點樣裡實東開關問長無見頭從當幾間門電聽氣處書員師報馬張難數車應親務"
    "計誰讀飛觀爭組視濟離雖壞興謝語請愛讓認論義術結條遠資隊帶變聯權傳領達辦運強區轉"
    "이다는의에하고가지기을를로으서도사한과정대수적인들자어나시일리부보상게있해것니주문전제경우아계국그화요생성라"
    "장오동원만세위소신구비분연없년중내개마관공조학각했면발무등및회미유치후방여모때통실습말선진합까데당결물식출명"
    "저반영안음려님우리")


def frequent_share(text: str) -> float:
    """The share of the non-ASCII characters of ``text`` that are frequent: in FREQUENT, or kana (Japanese
    text is a third kana or more)."""
    wide = [c for c in text if ord(c) > 127]
    return sum(c in FREQUENT or is_kana(c) for c in wide) / max(1, len(wide))
