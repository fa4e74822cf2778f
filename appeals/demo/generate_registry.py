"""Write the demo registry: fictional enterprises of 示例市 and their butlers.

Deterministic (fixed seed), so the shipped CSV files can be regenerated and
compared. Every phone number is a 1380000xxxx/1390000xxxx/1370000xxxx
placeholder and every name is invented; the mix is chosen so each routing
rule fires: most enterprises have an active butler, some have none, some
butlers are inactive (their backup or their grid takes over), and each district
has a duty queue. Run: ``python -m appeals.demo.generate_registry``.
"""

from __future__ import annotations

import csv
import random
from pathlib import Path

from appeals.credit_code import ALPHABET, make_credit_code
from appeals.registry import DEPARTMENT_HEADERS, REGISTRY_HEADERS, STATUS_HEADER

HERE = Path(__file__).resolve().parent
SEED = 20261123
ENTERPRISES = 300
BUTLERS = 36
INACTIVE = 4

# district -> (fake 6-digit division code, streets used for grids)
DISTRICTS: dict[str, tuple[str, tuple[str, ...]]] = {
    "城东区": ("990102", ("东湖街道", "朝阳街道", "东关街道")),
    "城西区": ("990103", ("西山街道", "新华街道", "西湖街道")),
    "高新区": ("990171", ("创新街道", "科技园社区")),
    "经开区": ("990172", ("临港街道", "产业园社区")),
    "示例县": ("990121", ("城关镇", "河口镇", "青石乡")),
}
CITY_DEPARTMENTS = ("市发改委", "市工信局", "市商务局")
# industry -> words that follow the brand in a company name
INDUSTRIES: dict[str, tuple[str, ...]] = {
    "制造业": ("机械制造", "精密模具", "汽车零部件", "五金制品", "包装材料"),
    "批发和零售业": ("商贸", "供应链管理", "农产品批发"),
    "软件和信息技术服务业": ("信息技术", "软件开发", "数据科技"),
    "建筑业": ("建筑工程", "建设工程", "装饰工程"),
    "住宿和餐饮业": ("餐饮管理", "酒店管理"),
    "交通运输和仓储业": ("物流", "货运代理", "仓储服务"),
    "医药制造业": ("生物医药", "制药", "医疗器械"),
    "新材料": ("新材料科技", "复合材料", "新能源科技"),
}
SCALES = ("大型", "中型", "中型", "小型", "小型", "小型", "微型", "微型")
BRANDS = [
    "宏达",
    "恒信",
    "瑞丰",
    "金桥",
    "华晟",
    "鑫源",
    "永盛",
    "昌隆",
    "天泽",
    "博远",
    "嘉禾",
    "启明",
    "卓越",
    "远航",
    "中联",
    "新锐",
    "汇通",
    "长青",
    "盛世",
    "润泽",
    "锦程",
    "东升",
    "荣华",
    "祥和",
    "同创",
    "万象",
    "翔宇",
    "海纳",
    "鼎盛",
    "正泰",
    "广聚",
    "百川",
    "安达",
    "腾飞",
    "联创",
    "益康",
    "德润",
    "凯旋",
    "信达",
    "星辰",
]
SURNAMES = [
    "王",
    "李",
    "张",
    "刘",
    "陈",
    "杨",
    "赵",
    "黄",
    "周",
    "吴",
    "徐",
    "孙",
    "胡",
    "朱",
    "高",
    "林",
    "何",
    "郭",
    "马",
    "罗",
]
GIVEN = [
    "伟",
    "芳",
    "娜",
    "敏",
    "静",
    "磊",
    "强",
    "军",
    "洋",
    "勇",
    "艳",
    "杰",
    "涛",
    "明",
    "超",
    "霞",
    "平",
    "刚",
    "桂英",
    "建华",
    "志强",
    "丽娟",
    "海燕",
    "晓东",
    "春梅",
    "国庆",
    "文博",
    "子涵",
]


def _name(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + rng.choice(GIVEN)


def _credit_code(rng: random.Random, division: str) -> str:
    organisation = "".join(rng.choice(ALPHABET) for _ in range(9))
    return make_credit_code("91" + division + organisation)


def build(seed: int = SEED) -> tuple[list[dict[str, str]], list[dict[str, str]]]:
    """The registry rows and department rows, without writing anything."""
    rng = random.Random(seed)
    districts = list(DISTRICTS)
    departments = [
        {
            "单位名称": name,
            "所属区县": "",
            "负责人": _name(rng),
            "负责人手机": f"1370000{i:04d}",
            "值班队列": "否",
        }
        for i, name in enumerate(CITY_DEPARTMENTS, start=1)
    ]
    for i, district in enumerate(districts, start=len(departments) + 1):
        departments.append(
            {
                "单位名称": f"{district}营商环境办",
                "所属区县": district,
                "负责人": _name(rng),
                "负责人手机": f"1370000{i:04d}",
                "值班队列": "是",
            }
        )

    # butlers: each has a home district; a third work for city departments
    butlers = []
    used_names: set[str] = set()
    for i in range(BUTLERS):
        name = _name(rng)
        while name in used_names:
            name = _name(rng)
        used_names.add(name)
        district = districts[i % len(districts)]
        unit = CITY_DEPARTMENTS[(i // 3) % 3] if i % 3 == 0 else f"{district}营商环境办"
        butlers.append({"name": name, "phone": f"1380000{i + 1:04d}", "unit": unit, "district": district})
    inactive = {b["phone"] for b in rng.sample(butlers, INACTIVE)}

    rows = []
    used_companies: set[str] = set()
    for i in range(ENTERPRISES):
        district = districts[i % len(districts)]
        division, streets = DISTRICTS[district]
        industry = rng.choice(list(INDUSTRIES))
        company = f"示例市{rng.choice(BRANDS)}{rng.choice(INDUSTRIES[industry])}有限公司"
        while company in used_companies:
            company = (
                f"示例市{rng.choice(BRANDS)}{rng.choice(BRANDS)}{rng.choice(INDUSTRIES[industry])}有限公司"
            )
        used_companies.add(company)
        local = [b for b in butlers if b["district"] == district]
        row = {
            "企业名称": company,
            "统一社会信用代码": _credit_code(rng, division),
            "所属区县": district,
            "网格": f"{rng.choice(streets)}第{rng.randint(1, 6)}网格",
            "行业": industry,
            "企业规模": rng.choice(SCALES),
            "联系人": _name(rng),
            "联系电话": f"1390000{i + 1:04d}",
            "管家姓名": "",
            "管家手机": "",
            "管家单位": "",
            "备用管家姓名": "",
            "备用管家手机": "",
            STATUS_HEADER: "",
        }
        roll = rng.random()
        if roll >= 0.1:  # one in ten has no butler yet: routed by grid or to the duty queue
            primary = rng.choice(local)
            row.update(
                {
                    "管家姓名": primary["name"],
                    "管家手机": primary["phone"],
                    "管家单位": primary["unit"],
                    STATUS_HEADER: "停用" if primary["phone"] in inactive else "在岗",
                }
            )
            if roll >= 0.4:
                backup = rng.choice([b for b in local if b is not primary])
                row.update({"备用管家姓名": backup["name"], "备用管家手机": backup["phone"]})
        rows.append(row)
    return rows, departments


def _write(path: Path, headers: list[str], rows: list[dict[str, str]]) -> None:
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=headers)
        writer.writeheader()
        writer.writerows(rows)


def main() -> None:
    """Regenerate registry_demo.csv and departments_demo.csv beside this file."""
    rows, departments = build()
    _write(HERE / "registry_demo.csv", [*REGISTRY_HEADERS, STATUS_HEADER], rows)
    _write(HERE / "departments_demo.csv", list(DEPARTMENT_HEADERS), departments)
    print(f"wrote {len(rows)} enterprises and {len(departments)} departments to {HERE.name}/")


if __name__ == "__main__":
    main()
